import { KubeConfig } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { allowPlainHttpServer } from "./kube-config.ts";

function kubeConfigFor(cluster: { server: string; skipTLSVerify?: boolean; proxyUrl?: string }): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "c", skipTLSVerify: false, ...cluster }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "ctx", cluster: "c", user: "u" }],
    currentContext: "ctx",
  });
  return kubeConfig;
}

describe("allowPlainHttpServer", () => {
  it("lets client-node use an http:// server, which it refuses as loaded", async () => {
    const kubeConfig = kubeConfigFor({ server: "http://127.0.0.1:8001" });
    await expect(kubeConfig.applyToFetchOptions({})).rejects.toThrow(/HTTP protocol is not allowed/);
    allowPlainHttpServer(kubeConfig);
    await expect(kubeConfig.applyToFetchOptions({})).resolves.toMatchObject({ agent: expect.anything() });
  });

  it("keeps TLS verification of an https:// server", async () => {
    const kubeConfig = kubeConfigFor({ server: "https://10.0.0.1:6443" });
    allowPlainHttpServer(kubeConfig);
    expect(kubeConfig.getCurrentCluster()?.skipTLSVerify).toBe(false);
    const options = await kubeConfig.applyToFetchOptions({});
    expect(
      (options.agent as { options?: { rejectUnauthorized?: boolean } }).options?.rejectUnauthorized,
    ).not.toBe(false);
  });

  it("leaves a proxied cluster as configured (its proxy may speak TLS)", () => {
    const kubeConfig = kubeConfigFor({
      server: "http://10.0.0.1:8080",
      proxyUrl: "https://proxy.example:3128",
    });
    allowPlainHttpServer(kubeConfig);
    expect(kubeConfig.getCurrentCluster()?.skipTLSVerify).toBe(false);
  });
});
