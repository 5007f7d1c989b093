import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ClusterFactsSchema } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { collectorTestClusterForFile } from "./testing/collector-test-cluster.ts";

/** `kasmap-collector --once` as a user runs it: the program, a kubeconfig file, stdout. */
const BIN = fileURLToPath(new URL("../bin/kasmap-collector.mjs", import.meta.url));
const cluster = collectorTestClusterForFile();

describe("kasmap-collector --once", () => {
  it("prints the derived ClusterFacts with sources as JSON and publishes nothing", async () => {
    const kubeconfig = join(mkdtempSync(join(tmpdir(), "kasmap-once-")), "kubeconfig");
    await cluster.simulator.writeKubeconfig(kubeconfig);
    // A malformed node makes the collector warn: the warning must not end up in stdout's JSON.
    cluster.simulator.upsert({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "broken" },
      status: { addresses: [{ type: "InternalIP", address: "not-an-ip" }] },
    });
    const { KASMAP_AGENT_TOKEN: _token, KUBECONFIG: _kubeconfig, ...inherited } = process.env;
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [BIN, "--once", "--kubeconfig", kubeconfig, "--cluster-name", "demo"],
      {
        // A reachable NATS and a topology with streams: had it published, we would see it.
        env: {
          ...inherited,
          KASMAP_TOPOLOGY_ROOT: cluster.bus.topology.root,
        },
        timeout: 30_000,
      },
    );
    const facts = ClusterFactsSchema.parse(JSON.parse(stdout));
    expect(facts.cluster_name).toBe("demo");
    expect(facts.sources.cluster_name).toMatchObject({ kind: "configured" });
    expect(facts.node_ips.internal).toEqual(["192.168.49.2", "192.168.49.3", "192.168.49.4"]);
    expect(facts.platform).toBe("kubeadm");
    expect(Object.keys(facts.sources).length).toBeGreaterThan(10);
    expect(stderr).toMatch(/not-an-ip/);
    // A CRD this cluster lacks (Cilium's CiliumPodIPPool) answers 404, at its API group's
    // discovery or its collection: not found, no problem logged, the pod range still kubeadm's.
    const ciliumPools = cluster.simulator.requests.filter((r) =>
      r.path.startsWith("/apis/cilium.io/v2alpha1"),
    );
    expect(ciliumPools.length).toBeGreaterThan(0);
    expect(ciliumPools.every((r) => r.status === 404)).toBe(true);
    expect(stderr).not.toMatch(/CiliumPodIPPool/);
    expect(facts.sources.pod_cidrs).toMatchObject({ kind: "observed" });
    expect(JSON.stringify(facts.sources.pod_cidrs)).toContain("kubeadm-config");

    for (const stream of cluster.bus.topology.streams) {
      const info = await cluster.bus.jsm.streams.info(stream.name);
      expect(info.state.messages, stream.name).toBe(0);
    }
  });
});
