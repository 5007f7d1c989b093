import { publishEvent } from "@kasmap/bus";
import { clusterFactsContentHash } from "@kasmap/cluster-info";
import { type ClusterFacts, EVENT_TYPES, newKasmapEvent } from "@kasmap/contracts";
import { buildClusterFacts } from "@kasmap/testing";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { ObservedVersions } from "./observed-versions.ts";
import { SnapshotPublisher } from "./snapshot-publisher.ts";
import { collectorTestClusterForFile } from "./testing/collector-test-cluster.ts";

/**
 * Issue 11: two replicas' publishers on one agent's subject, driven in the interleavings that
 * used to write one cluster change as four history entries (old, new, old again, new again):
 * the replica whose watch lagged published its older view after losing the race to the newer
 * one. Real JetStream, one agent id (subject) per test.
 */
const cluster = collectorTestClusterForFile();
const logger = pino({ level: "silent" });

function publisher(agentId: number, collectorId: string, behindGraceMs?: number): SnapshotPublisher {
  return new SnapshotPublisher({
    target: { bus: cluster.bus, agentId },
    collectorId,
    logger,
    ...(behindGraceMs === undefined ? {} : { behindGraceMs }),
  });
}

/** One state of the cluster as a replica derived it, at the resourceVersions of its view. */
function view(internalIp: string, versions: ObservedVersions, clusterUid = "uid-1") {
  const facts: ClusterFacts = buildClusterFacts({
    cluster_uid: clusterUid,
    node_ips: { external: [], internal: [internalIp] },
  });
  return { facts, hash: clusterFactsContentHash(facts), versions };
}

const publish = (p: SnapshotPublisher, v: ReturnType<typeof view>) =>
  p.publishIfChanged(v.facts, v.hash, v.versions);
const history = async (agentId: number) => (await cluster.snapshots(agentId)).map((s) => s.contentHash);

describe("snapshot publishers of two replicas", () => {
  it("a replica whose watch lags leaves the other's newer snapshot in place, then adopts it", async () => {
    const before = view("192.168.49.3", { nodes: "100", services: "100" });
    const after = view("192.168.49.44", { nodes: "101", services: "100" });
    const lagging = publisher(61, "replica-b");
    await lagging.ready(); // it read the subject while it was still empty
    const quick = publisher(61, "replica-a");
    expect(await publish(quick, before)).toBe("published");
    expect(await publish(quick, after)).toBe("published");

    // The lagging replica derives the state before the change (its nodes watch is behind).
    expect(await publish(lagging, before)).toBe("behind");
    expect(await history(61)).toEqual([before.hash, after.hash]);
    expect(lagging.lastPublishedHash).toBe(after.hash);
    // Its watch delivers the change: the same content, nothing more on the subject.
    expect(await publish(lagging, after)).toBe("unchanged");
    expect(await history(61)).toEqual([before.hash, after.hash]);
  });

  it("a replica that starts after the change but listed before it does not republish the old state", async () => {
    const before = view("192.168.49.3", { nodes: "200", services: "200" });
    const after = view("192.168.49.44", { nodes: "201", services: "200" });
    const quick = publisher(62, "replica-a");
    expect(await publish(quick, before)).toBe("published");
    expect(await publish(quick, after)).toBe("published");
    const late = publisher(62, "replica-b");
    await late.ready(); // reads `after` as the subject's newest
    expect(await publish(late, before)).toBe("behind");
    expect(await publish(late, after)).toBe("unchanged");
    expect(await history(62)).toEqual([before.hash, after.hash]);
  });

  it("a replica with the newer view publishes over the other's older snapshot", async () => {
    const before = view("192.168.49.3", { nodes: "300" });
    const after = view("192.168.49.44", { nodes: "301" });
    const slow = publisher(63, "replica-a");
    const quick = publisher(63, "replica-b");
    await Promise.all([slow.ready(), quick.ready()]);
    expect(await publish(slow, before)).toBe("published");
    // `quick` expects the subject empty, loses the race, reads `before`: its view is newer.
    expect(await publish(quick, after)).toBe("published");
    expect(await history(63)).toEqual([before.hash, after.hash]);
    // `slow`'s watch delivers the change: it finds it published.
    expect(await publish(slow, after)).toBe("unchanged");
    expect(slow.lastPublishedHash).toBe(after.hash);
    expect(await history(63)).toEqual([before.hash, after.hash]);
  });

  it("both publishing the same content at once write it once", async () => {
    const state = view("192.168.49.3", { nodes: "400" });
    const a = publisher(64, "replica-a");
    const b = publisher(64, "replica-b");
    await Promise.all([a.ready(), b.ready()]);
    const outcomes = await Promise.all([publish(a, state), publish(b, state)]);
    expect(outcomes.sort()).toEqual(["published", "unchanged"]);
    expect(await history(64)).toEqual([state.hash]);
  });

  it("defers for the grace period at most: a view behind on a quiet source still gets published", async () => {
    const first = view("192.168.49.3", { nodes: "500", services: "510" });
    // Newer nodes, but its services list is older than the other's (no bookmark since).
    const changed = view("192.168.49.44", { nodes: "520", services: "505" });
    const a = publisher(65, "replica-a");
    expect(await publish(a, first)).toBe("published");
    const b = publisher(65, "replica-b", 200);
    await b.ready();
    expect(await publish(b, changed)).toBe("behind");
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await publish(b, changed)).toBe("published");
    expect(await history(65)).toEqual([first.hash, changed.hash]);
  });

  it("compares views of one cluster only, and not with a snapshot that does not say its view", async () => {
    const other = view("192.168.49.3", { nodes: "900" }, "uid-old-cluster");
    const mine = view("10.0.9.1", { nodes: "12" }, "uid-new-cluster");
    const a = publisher(66, "replica-a");
    expect(await publish(a, other)).toBe("published");
    const b = publisher(66, "replica-b");
    expect(await publish(b, mine)).toBe("published");
    // An older collector's snapshot, without the versions header.
    const unsaid = view("10.0.9.2", {}, "uid-new-cluster");
    const { bus } = cluster;
    await publishEvent(
      bus,
      newKasmapEvent({
        type: EVENT_TYPES.clusterSnapshot,
        source: "/kasmap/collector/older",
        subject: bus.topology.subjects.clusterSnapshot(66),
        data: { agent_id: 66, content_hash: unsaid.hash, cluster: unsaid.facts },
      }),
    );
    const next = view("10.0.9.3", { nodes: "13" }, "uid-new-cluster");
    expect(await publish(b, next)).toBe("published");
    expect(await history(66)).toEqual([other.hash, mine.hash, unsaid.hash, next.hash]);
  });
});
