import { eventually } from "@kasmap/testing/harness";
import { describe, expect, it } from "vitest";
import { collectorTestClusterForFile, setInternalIp } from "./testing/collector-test-cluster.ts";

/**
 * The collector against a simulated cluster over real HTTP and a real NATS JetStream: what it
 * publishes, when it publishes, and when it must not. Each test uses its own agent id (subject).
 */
const cluster = collectorTestClusterForFile();

describe("collector snapshots", () => {
  it("publishes a first snapshot with the fixture's values and a source for every field", async () => {
    const collector = cluster.startCollector(1);
    const [first] = await cluster.snapshotsWhen(1, (s) => s.length > 0, "the first snapshot");
    expect(first?.collectorId).toBe(collector.collectorId);
    const facts = first?.cluster;
    expect(facts?.node_ips.internal).toEqual(["192.168.49.2", "192.168.49.3", "192.168.49.4"]);
    expect(facts?.node_ips.external).toEqual(["203.0.113.10", "203.0.113.11", "203.0.113.12"]);
    expect(facts?.pod_cidr).toBe("10.244.0.0/16");
    expect(facts?.service_cidr).toBe("10.96.0.0/12");
    expect(facts?.node_count).toBe(3);
    expect(facts?.platform).toBe("kubeadm");
    expect(facts?.agent_pod_ip).toBe("10.244.1.17");
    expect(facts?.sources.pod_cidr).toMatchObject({ kind: "observed" });
    expect(first?.contentHash).toBe(collector.latest?.hash);
    await collector.stop();
  });

  it("publishes exactly one snapshot per content change and none for a change derivation ignores", async () => {
    const collector = cluster.startCollector(2);
    await eventually(async () => ((await cluster.snapshots(2)).length === 1 ? true : undefined), "first");
    await collector.whenIdle();

    setInternalIp(cluster.simulator, "k8s-worker-2", "192.168.49.44");
    const afterChange = await cluster.snapshotsWhen(
      2,
      (s) => s.at(-1)?.cluster.node_ips.internal.includes("192.168.49.44") === true,
      "the address change",
    );
    expect(afterChange).toHaveLength(2);
    await collector.whenIdle();

    const before = collector.latest;
    cluster.simulator.patchNode("k8s-worker-1", (node) => {
      const annotations = node.metadata.annotations as Record<string, string> | undefined;
      node.metadata.annotations = { ...annotations, "kasmap.test/touched": "yes" };
      return node;
    });
    // The annotation is projected away, but the watch event still triggers a derivation.
    await eventually(
      () => (collector.latest !== before ? true : undefined),
      "a derivation after the annotation",
    );
    await collector.whenIdle();
    expect(collector.latest?.hash).toBe(before?.hash);
    expect(await cluster.snapshots(2)).toHaveLength(2);
    await collector.stop();
  });

  it("coalesces a burst of 20 changes into far fewer snapshots and ends on the last value", async () => {
    const collector = cluster.startCollector(3, { coalesceMs: 300 });
    await eventually(async () => ((await cluster.snapshots(3)).length === 1 ? true : undefined), "first");
    await collector.whenIdle();
    for (let i = 1; i <= 20; i++) setInternalIp(cluster.simulator, "k8s-worker-1", `192.168.50.${i}`);
    const snapshots = await cluster.snapshotsWhen(
      3,
      (s) => s.at(-1)?.cluster.node_ips.internal.includes("192.168.50.20") === true,
      "the last change of the burst",
    );
    await collector.whenIdle();
    const published = (await cluster.snapshots(3)).length - 1;
    expect(snapshots.at(-1)?.cluster.node_ips.internal).toEqual([
      "192.168.49.2",
      "192.168.49.44",
      "192.168.50.20",
    ]);
    expect(published).toBeGreaterThanOrEqual(1);
    expect(published).toBeLessThanOrEqual(4);
    await collector.stop();
  });

  it("heartbeats carry the collector id, the last published content hash and the cluster_uid", async () => {
    const collector = cluster.startCollector(4, { heartbeatMs: 100 });
    const heartbeat = await eventually(async () => {
      const h = await cluster.lastHeartbeat(4);
      return h && collector.publishedHash && h.content_hash === collector.publishedHash ? h : undefined;
    }, "a heartbeat naming the published snapshot");
    expect(heartbeat.collector_id).toBe(collector.collectorId);
    expect(heartbeat.agent_id).toBe(4);
    const [snapshot] = await cluster.snapshots(4);
    expect(heartbeat.content_hash).toBe(snapshot?.contentHash);
    // Issue 11: the cluster it reports from, so two collectors in two clusters are noticed.
    expect(heartbeat.cluster_uid).toEqual(expect.any(String));
    expect(heartbeat.cluster_uid).toBe(snapshot?.cluster.cluster_uid);
    await collector.stop();
  });

  it("a restarted collector does not publish a duplicate of an unchanged cluster", async () => {
    const first = cluster.startCollector(5);
    const [published] = await cluster.snapshotsWhen(5, (s) => s.length > 0, "the first collector's snapshot");
    await first.stop();

    const second = cluster.startCollector(5);
    await second.firstFacts;
    await second.whenIdle();
    expect(second.latest?.hash).toBe(published?.contentHash);
    expect(second.publishedHash).toBe(published?.contentHash);
    expect(await cluster.snapshots(5)).toHaveLength(1);

    // ...but it does publish the next real change.
    setInternalIp(cluster.simulator, "k8s-cp-1", "192.168.49.22");
    const after = await cluster.snapshotsWhen(5, (s) => s.length === 2, "the change after restart");
    expect(after[1]?.collectorId).toBe(second.collectorId);
    await second.stop();
  });

  it("refuses with an error log, rather than truncating, a snapshot above max_payload", async () => {
    const collector = cluster.startCollector(6, { maxPayloadBytes: 2_000 });
    await collector.firstFacts;
    const refusal = await eventually(
      () => cluster.logs.find((l) => l.level === 50 && l.agent_id === 6 && typeof l.bytes === "number"),
      "the error log",
    );
    expect(refusal.max_payload).toBe(2_000);
    expect(refusal.bytes).toBeGreaterThan(2_000);
    expect(refusal.msg).toMatch(/max_payload/);
    await collector.whenIdle();
    expect(await cluster.snapshots(6)).toHaveLength(0);
    expect(collector.publishedHash).toBeNull();
    await collector.stop();
  });
});
