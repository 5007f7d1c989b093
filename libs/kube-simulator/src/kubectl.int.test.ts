import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_CLUSTER_DIRECTORY } from "./demo-cluster-directory.ts";
import { KubeSimulator } from "./kube-simulator.ts";

const run = promisify(execFile);

let sim: KubeSimulator;
let directory: string;
let kubeconfig: string;

beforeAll(async () => {
  // No bearer tokens: kubectl never sends credentials to a plain-HTTP server
  // (kubernetes/kubectl#744), so authentication is covered by the wire tests instead.
  sim = new KubeSimulator();
  await sim.loadFromDirectory(DEMO_CLUSTER_DIRECTORY);
  await sim.start();
  directory = await mkdtemp(join(tmpdir(), "kasmap-kubectl-"));
  kubeconfig = join(directory, "kubeconfig");
  await sim.writeKubeconfig(kubeconfig, { contextName: "demo" });
});

afterAll(async () => {
  await sim.close();
  await rm(directory, { recursive: true, force: true });
});

/**
 * Runs the real kubectl with the words of `command` as arguments (split on spaces, no quoting: no
 * argument here holds one); a private cache dir keeps runs from sharing discovery caches.
 */
async function kubectl(command: string): Promise<string> {
  const { stdout } = await run(
    "/usr/bin/kubectl",
    ["--kubeconfig", kubeconfig, "--cache-dir", join(directory, "cache"), ...command.split(" ")],
    { timeout: 30_000 },
  );
  return stdout;
}

describe("kubectl against the simulator", () => {
  it("get nodes -o json returns the fixture nodes", async () => {
    const list: unknown = JSON.parse(await kubectl("get nodes -o json"));
    expect(list).toMatchObject({ kind: "List" });
    const items = (list as { items: Array<{ kind: string; metadata: { name: string } }> }).items;
    expect(items.map((n) => n.metadata.name)).toEqual(["k8s-cp-1", "k8s-worker-1", "k8s-worker-2"]);
    expect(items.every((n) => n.kind === "Node")).toBe(true);
  });

  it("get nodes and get nodes -o wide print every node", async () => {
    for (const output of [await kubectl("get nodes"), await kubectl("get nodes -o wide")]) {
      expect(output.split("\n")[0]).toMatch(/^NAME\s/);
      for (const name of ["k8s-cp-1", "k8s-worker-1", "k8s-worker-2"]) expect(output).toContain(name);
    }
  });

  it("get configmaps -A prints namespace and name of each", async () => {
    const output = await kubectl("get configmaps -A");
    expect(output).toMatch(/^NAMESPACE\s+NAME\s/);
    expect(output).toMatch(/kube-system\s+kubeadm-config\s/);
    expect(output).toMatch(/kube-public\s+cluster-info\s/);
  });

  it("lists in one namespace and gets one object by name", async () => {
    const output = await kubectl("get pods -n gitlab-agent -o jsonpath={.items[*].status.podIP}");
    expect(output).toBe("10.244.1.17");
    const configMap: unknown = JSON.parse(
      await kubectl("get configmap -n kube-system kubeadm-config -o json"),
    );
    expect(configMap).toMatchObject({
      kind: "ConfigMap",
      metadata: { name: "kubeadm-config", namespace: "kube-system" },
    });
  });

  it("filters by label and field selectors", async () => {
    const workers = await kubectl("get nodes -l !node-role.kubernetes.io/control-plane -o name");
    expect(workers.trim().split("\n")).toEqual(["node/k8s-worker-1", "node/k8s-worker-2"]);
    const one = await kubectl("get nodes --field-selector metadata.name=k8s-cp-1 -o name");
    expect(one.trim()).toBe("node/k8s-cp-1");
  });

  it("version reports the simulated server version", async () => {
    const version: unknown = JSON.parse(await kubectl("version -o json"));
    expect(version).toMatchObject({ serverVersion: { gitVersion: "v1.33.1", platform: "linux/amd64" } });
  });
});
