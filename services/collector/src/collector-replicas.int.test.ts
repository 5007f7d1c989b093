import { eventually } from "@kasmap/testing/harness";
import { describe, expect, it } from "vitest";
import type { CollectorIdentity } from "./collector-identity.ts";
import { decodeObservedVersions, OBSERVED_VERSIONS_HEADER } from "./observed-versions.ts";
import { collectorTestClusterForFile, setInternalIp } from "./testing/collector-test-cluster.ts";

/**
 * Issue 11: replicas of one agent's collector (two pods, each its own address) watching one
 * cluster publish one snapshot history between them, and each its own heartbeat.
 */
const cluster = collectorTestClusterForFile();

function replica(name: string, podIp: string) {
  const identity: CollectorIdentity = {
    collectorId: name,
    replica: {
      pod_name: name,
      pod_ip: podIp,
      namespace: "gitlab-agent",
      node: "node-1",
      version: "0.1.0",
      commit: null,
    },
  };
  return {
    identity,
    downward: { podIp, namespace: "gitlab-agent", namespaceSource: "env" as const },
  };
}

describe("collector replicas", () => {
  it("publish one snapshot per content change between them, not one each", async () => {
    const a = cluster.startCollector(51, replica("collector-a", "10.244.1.21"));
    const b = cluster.startCollector(51, replica("collector-b", "10.244.2.22"));
    await Promise.all([a.firstFacts, b.firstFacts]);
    await Promise.all([a.whenIdle(), b.whenIdle()]);
    expect(a.latest?.facts.agent_pod_ip).toBe("10.244.1.21");
    expect(b.latest?.facts.agent_pod_ip).toBe("10.244.2.22");
    expect(a.latest?.hash).toBe(b.latest?.hash);
    expect(await cluster.snapshots(51)).toHaveLength(1);
    expect(a.publishedHash).toBe(b.publishedHash);

    setInternalIp(cluster.simulator, "k8s-worker-1", "192.168.50.21");
    const changedAt = cluster.simulator.resourceVersion;
    await cluster.snapshotsWhen(
      51,
      (s) => s.at(-1)?.cluster.node_ips.internal.includes("192.168.50.21") === true,
      "the change published",
    );
    const changed = (await cluster.snapshots(51)).at(-1)?.contentHash;
    // Both have handled the change once each knows the newest snapshot's hash.
    await Promise.all([a.whenIdle(), b.whenIdle()]);
    await eventually(
      async () => (a.publishedHash === changed && b.publishedHash === changed ? true : undefined),
      "both replicas at the newest snapshot",
    );
    expect(await cluster.snapshots(51)).toHaveLength(2);
    // The snapshot says which view it was derived from: the nodes as of the change.
    const { bus } = cluster;
    const last = await bus.jsm.direct.getMessage(bus.topology.streamNames.cluster, {
      last_by_subj: bus.topology.subjects.clusterSnapshot(51),
    });
    const versions = decodeObservedVersions(last?.header?.get(OBSERVED_VERSIONS_HEADER));
    expect(versions?.nodes).toBe(changedAt);
    expect(Object.keys(versions ?? {})).toContain("kubeSystemNamespace");
  });
});
