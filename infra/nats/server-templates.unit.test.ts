import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";

/**
 * The server configurations Kasmap ships (infra/nats/*.conf and the Kubernetes manifest) require
 * authentication and TLS and do not listen on every interface unless a deployment says so
 * (issue 7, item 5): a NATS that anyone on the network can join lets them forge events and read
 * agent tokens.
 */
const read = (path: string) => readFileSync(fileURLToPath(new URL(`../${path}`, import.meta.url)), "utf8");

/** The config without comments, so a commented-out example cannot satisfy or fail a check. */
const uncommented = (text: string) =>
  text
    .split("\n")
    .map((line) => line.replace(/#.*$/, ""))
    .join("\n");

/** Every `listen:` / `http:` / `https:` address in the config (client, cluster, monitoring). */
function listenAddresses(config: string): string[] {
  return [...uncommented(config).matchAll(/^\s*(?:listen|http|https|port)\s*[:=]\s*"?([^\s"]+)"?/gm)].map(
    (match) => match[1] ?? "",
  );
}

function kubernetesNatsConfig(): string {
  const documents = parseAllDocuments(read("kubernetes/nats.yaml")).map(
    (d) => d.toJS() as Record<string, unknown>,
  );
  const configMap = documents.find(
    (d) => d.kind === "ConfigMap" && (d.metadata as { name?: string })?.name === "kasmap-nats-config",
  );
  const data = (configMap?.data ?? {}) as Record<string, string>;
  expect(data["nats.conf"], "ConfigMap kasmap-nats-config with nats.conf").toBeDefined();
  return data["nats.conf"] ?? "";
}

const LOCAL_TEMPLATES = ["nats/single-node.conf", "nats/cluster-node-1.conf"];

describe.each(LOCAL_TEMPLATES)("%s", (path) => {
  const config = () => uncommented(read(path));

  it("listens on loopback only", () => {
    const addresses = listenAddresses(read(path));
    expect(addresses.length).toBeGreaterThan(0);
    for (const address of addresses)
      expect(address, `listen address ${address}`).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it("requires nkey authentication, with no user for anonymous clients", () => {
    expect(config()).toMatch(/^\s*include\s+"?\.\/per-agent-permissions\.conf"?/m);
    expect(config()).not.toMatch(/no_auth_user/);
  });

  it("requires TLS for clients", () => {
    expect(config()).toMatch(/^tls\s*\{[^}]*cert_file[^}]*key_file/m);
  });
});

describe("cluster-node-1.conf", () => {
  it("admits only routes with a certificate from the cluster's CA (mutual TLS)", () => {
    const cluster = /cluster\s*\{([\s\S]*)\}/.exec(uncommented(read("nats/cluster-node-1.conf")))?.[1] ?? "";
    expect(cluster).toMatch(/tls\s*\{[^}]*verify:\s*true/);
  });
});

describe("per-agent-permissions.conf", () => {
  it("holds public keys only, every user with a permissions block", () => {
    const config = uncommented(read("nats/per-agent-permissions.conf"));
    expect(config).not.toMatch(/password|SU[A-Z2-7]{56}|no_auth_user/);
    const users = config.match(/nkey:/g)?.length ?? 0;
    expect(users).toBeGreaterThan(0);
    expect(config.match(/permissions:/g)?.length).toBe(users);
  });
});

describe("infra/kubernetes/nats.yaml", () => {
  it("requires TLS with the certificate from a Secret, and nkey authentication", () => {
    const config = uncommented(kubernetesNatsConfig());
    expect(config).toMatch(/^tls\s*\{[^}]*cert_file:\s*"?\/etc\/nats\/tls\/tls\.crt/m);
    expect(config).toMatch(/^\s*include\s+"?\.\/authorization\.conf"?/m);
    expect(config).not.toMatch(/no_auth_user/);
    const manifest = read("kubernetes/nats.yaml");
    expect(manifest).toMatch(/secretName:\s*kasmap-nats-tls/);
  });

  it("keeps the monitoring endpoint on loopback", () => {
    expect(uncommented(kubernetesNatsConfig())).toMatch(/^http:\s*"?127\.0\.0\.1:8222/m);
  });
});
