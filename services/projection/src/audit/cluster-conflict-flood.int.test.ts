import { publishEvent } from "@kasmap/bus";
import { AUDIT_EVENT_TYPES, CONNECTED_WITHIN_MS } from "@kasmap/contracts";
import { replicaHeartbeat } from "@kasmap/testing";
import { describe, expect, it } from "vitest";
import { auditEventsOf } from "../testing/collector-and-alert-events.ts";
import { projectionContextForFile } from "../testing/projection-context.ts";
import { CLUSTER_CONFLICT_CLUSTERS_NAMED, CLUSTER_CONFLICT_WINDOW_MS } from "./audit-events.ts";

/**
 * Security review (HIGH): one agent's collector credentials, heartbeats within the rate limit,
 * each from an invented collector id in an invented cluster. Every heartbeat used to yield one
 * `cluster_agent_cluster_conflict` (and one alert) per other live collector — 64 a heartbeat.
 * Now: at most one per heartbeat, and per agent and `CLUSTER_CONFLICT_WINDOW_MS` of the agent's
 * clock one per count of clusters from 2 to `CLUSTER_CONFLICT_CLUSTERS_NAMED` (3 in all); an honest
 * conflict is still reported, once per episode, and a third cluster joining it by name.
 */
const ctx = projectionContextForFile("projection-cluster-conflict-flood", { running: true });

/** The start of a conflict window half an hour ago (the projection clamps future times). */
const T0 = Math.floor((Date.now() - 30 * 60_000) / CLUSTER_CONFLICT_WINDOW_MS) * CLUSTER_CONFLICT_WINDOW_MS;
const at = (ms: number) => new Date(T0 + ms).toISOString();

/** A heartbeat of collector `pod` in cluster `uid`, sent `ms` after T0. */
type Beat = [pod: string, uid: string, ms: number];

async function register(agentId: number): Promise<void> {
  await publishEvent(ctx.bus, ctx.events.agent(agentId, 11));
  await publishEvent(ctx.bus, ctx.events.agentToken(agentId * 10, agentId));
}

/** Publishes the heartbeats, each applied before the next (the stream keeps one per subject). */
async function beat(agentId: number, beats: readonly Beat[]): Promise<void> {
  for (const [pod, uid, ms] of beats) {
    await publishEvent(ctx.bus, replicaHeartbeat(ctx.topology, agentId, pod, at(ms), { clusterUid: uid }));
    await ctx.caughtUp();
  }
}

/** `count` invented collectors, each in its own invented cluster, 500 ms apart from `fromMs`. */
function inventedBurst(tag: string, fromMs: number, count: number): Beat[] {
  return Array.from({ length: count }, (_, i) => [`evil-${tag}-${i}`, `uid-${tag}-${i}`, fromMs + i * 500]);
}

const conflictAudits = (agentId: number) => auditEventsOf(ctx.db, agentId, AUDIT_EVENT_TYPES.clusterConflict);

/** The alerts the outbox queued for the agent, published or not (every one reaches the stream). */
async function queuedAlerts(agentId: number) {
  return ctx.db
    .selectFrom("read_model.alert_outbox")
    .select("event_id")
    .where("agent_id", "=", agentId)
    .execute();
}

async function expectConflicts(agentId: number, count: number): Promise<void> {
  expect(await conflictAudits(agentId)).toHaveLength(count);
  expect(await queuedAlerts(agentId)).toHaveLength(count);
}

describe("cluster_agent_cluster_conflict under a flood of invented collectors", () => {
  it("is recorded and alerted at most three times per agent and window, however many clusters are invented", async () => {
    const agent = 81;
    const perWindow = CLUSTER_CONFLICT_CLUSTERS_NAMED - 1;
    await register(agent);
    // 80 invented collectors (more than the 64 kept) in 80 clusters, within one window.
    await beat(agent, [["collector-a", "uid-honest", 0], ...inventedBurst("one", 1_000, 80)]);
    await expectConflicts(agent, perWindow);
    const [first, ...counted] = await conflictAudits(agent);
    expect(first?.event_id).toBe(`cluster_conflict:${agent}:${at(0)}`);
    expect(counted.map((audit) => audit.event_id)).toEqual([
      `cluster_conflict:${agent}:${at(0)}:3`,
      `cluster_conflict:${agent}:${at(0)}:4`,
    ]);
    expect(first?.details).toMatchObject({
      collector: "/kasmap/collector/evil-one-0",
      collectors: [
        { collector_id: "collector-a", cluster_uid: "uid-honest" },
        { collector_id: "evil-one-0", cluster_uid: "uid-one-0" },
      ],
    });

    // The next window: one more, however many more clusters (the first already counts four).
    await beat(agent, inventedBurst("two", CLUSTER_CONFLICT_WINDOW_MS + 1_000, 40));
    await expectConflicts(agent, perWindow + 1);

    // Backdated heartbeats reach no window of their own: the agent's clock does not go back.
    await beat(agent, inventedBurst("old", -2 * 60 * 60_000, 20));
    await expectConflicts(agent, perWindow + 1);
  });

  it("is recorded once per episode for an honest conflict, not again for a replica in a known cluster", async () => {
    const agent = 82;
    await register(agent);
    await beat(agent, [
      ["collector-a", "uid-one", 0],
      ["collector-b", "uid-two", 1_000],
      ["collector-a", "uid-one", 20_000],
      ["collector-b", "uid-two", 21_000],
      // A rolling update in the second cluster: a new replica, the same pair of clusters.
      ["collector-b2", "uid-two", 25_000],
      ["collector-a", "uid-one", 40_000],
      ["collector-b2", "uid-two", 45_000],
    ]);
    await expectConflicts(agent, 1);
    const [audit] = await conflictAudits(agent);
    expect(audit?.details).toEqual({
      custom_message: "Collectors of the cluster agent report from different clusters",
      collector: "/kasmap/collector/collector-b",
      collectors: [
        { collector_id: "collector-a", pod_name: "collector-a", cluster_uid: "uid-one" },
        { collector_id: "collector-b", pod_name: "collector-b", cluster_uid: "uid-two" },
      ],
    });

    // The second cluster's collectors go silent, then one comes back: a new episode.
    const back = 45_000 + CONNECTED_WITHIN_MS + 60_000;
    await beat(agent, [
      ["collector-a", "uid-one", back - 60_000],
      ["collector-a", "uid-one", back - 1_000],
      ["collector-b2", "uid-two", back],
    ]);
    await expectConflicts(agent, 2);
  });

  it("is recorded once per heartbeat that brings a cluster in, naming a third cluster in the same window", async () => {
    const agent = 83;
    await register(agent);
    await beat(agent, [
      ["collector-a", "uid-one", 0],
      ["collector-b", "uid-two", 1_000],
      ["collector-c", "uid-three", 2_000],
      ["collector-a", "uid-one", 20_000],
      ["collector-c", "uid-three", 22_000],
    ]);
    // The old rule made two for the third heartbeat (one per other collector): three in all.
    // Before a third cluster had a count of its own, the window's one event absorbed it.
    await expectConflicts(agent, 2);
    const [, third] = await conflictAudits(agent);
    expect(third?.event_id).toBe(`cluster_conflict:${agent}:${at(0)}:3`);
    expect(third?.details).toMatchObject({
      collector: "/kasmap/collector/collector-c",
      collectors: [
        { collector_id: "collector-b", cluster_uid: "uid-two" },
        { collector_id: "collector-c", cluster_uid: "uid-three" },
      ],
    });
  });
});
