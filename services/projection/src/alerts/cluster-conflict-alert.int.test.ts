import { publishEvent } from "@kasmap/bus";
import { AUDIT_EVENT_TYPES, CONNECTED_WITHIN_MS, EVENT_TYPES, type KasmapEvent } from "@kasmap/contracts";
import { replicaHeartbeat } from "@kasmap/testing";
import { eventually } from "@kasmap/testing/harness";
import { describe, expect, it } from "vitest";
import { auditEventsOf, readAlertStream } from "../testing/collector-and-alert-events.ts";
import { projectionContextForFile } from "../testing/projection-context.ts";

/**
 * Issue 11: two live collectors of one agent reporting different `cluster_uid`s are one token
 * used in two clusters: one `cluster_agent_cluster_conflict` audit event and one critical alert
 * per conflict, however many heartbeats follow, and at most one per agent and number of clusters
 * the conflict spans every 3 minutes of its heartbeats' clock (`CLUSTER_CONFLICT_WINDOW_MS`,
 * `CLUSTER_CONFLICT_CLUSTERS_NAMED`); none for the same cluster, nor against a collector that
 * stopped or went silent.
 */
const ctx = projectionContextForFile("projection-cluster-conflict-alert", { running: true });

/** Heartbeat times in the recent past (the projection clamps future ones). */
const T0 = Date.now() - 10 * 60_000;
const at = (ms: number) => new Date(T0 + ms).toISOString();

/** A heartbeat of collector `pod` in cluster `uid`, sent `ms` after T0, stopping or not. */
type Beat = [pod: string, uid: string, ms: number, stopping?: boolean];

/**
 * Registers the agent, then publishes its collectors' heartbeats one by one, each applied before
 * the next: the heartbeat stream keeps only the newest message per collector, as collectors beat
 * seconds apart. Each heartbeat is on its collector's own subject.
 */
async function registerAndBeat(agentId: number, beats: Beat[]): Promise<void> {
  await publishEvent(ctx.bus, ctx.events.agent(agentId, 11));
  await publishEvent(ctx.bus, ctx.events.agentToken(agentId * 10, agentId));
  for (const [pod, uid, ms, stopping = false] of beats) {
    await publishEvent(
      ctx.bus,
      replicaHeartbeat(ctx.topology, agentId, pod, at(ms), { clusterUid: uid, stopping }),
    );
    await ctx.caughtUp();
  }
}

const conflictAudits = (agentId: number) => auditEventsOf(ctx.db, agentId, AUDIT_EVENT_TYPES.clusterConflict);

/** The conflict alerts of the agent on the alerts stream, oldest first. */
async function conflictAlerts(agentId: number): Promise<KasmapEvent[]> {
  const subject = ctx.topology.subjects.alert(EVENT_TYPES.alertClusterConflict, agentId);
  return (await readAlertStream(ctx.bus, ctx.topology))
    .filter((a) => a.subject === subject)
    .map((a) => a.event);
}

/** What the outbox holds for the agent: every alert it queued, published or not. */
async function queuedAlerts(agentId: number) {
  return ctx.db
    .selectFrom("read_model.alert_outbox")
    .select("event_id")
    .where("agent_id", "=", agentId)
    .execute();
}

/** Neither an audit event nor a queued alert for the agent. */
async function expectNoConflictRecorded(agentId: number): Promise<void> {
  expect(await conflictAudits(agentId)).toEqual([]);
  expect(await queuedAlerts(agentId)).toEqual([]);
}

describe("cluster_agent_cluster_conflict", () => {
  it("is recorded and alerted once while two live collectors report different clusters", async () => {
    const agent = 71;
    await registerAndBeat(agent, [
      ["collector-a", "uid-one", 0],
      ["collector-b", "uid-two", 1_000],
      // The conflict goes on: neither collector's later heartbeats report it again.
      ["collector-a", "uid-one", 20_000],
      ["collector-b", "uid-two", 21_000],
    ]);

    const [audit, ...more] = await conflictAudits(agent);
    expect(more).toEqual([]);
    expect(audit?.details).toMatchObject({
      collector: "/kasmap/collector/collector-b",
      collectors: [
        { collector_id: "collector-a", pod_name: "collector-a", cluster_uid: "uid-one" },
        { collector_id: "collector-b", pod_name: "collector-b", cluster_uid: "uid-two" },
      ],
    });
    const [alert, ...others] = await eventually(
      async () => ((await conflictAlerts(agent)).length > 0 ? conflictAlerts(agent) : undefined),
      "the conflict alert on the alerts stream",
    );
    expect(others).toEqual([]);
    expect(alert).toMatchObject({
      type: EVENT_TYPES.alertClusterConflict,
      severity: "critical",
      data: {
        agent_id: agent,
        audit_event_id: audit?.event_id,
        entity_id: audit?.entity_id,
        details: audit?.details,
      },
    });
    expect(await queuedAlerts(agent)).toHaveLength(1);
  });

  it("is not recorded for collectors that report the same cluster", async () => {
    const agent = 72;
    await registerAndBeat(agent, [
      ["collector-a", "uid-one", 0],
      ["collector-b", "uid-one", 1_000],
    ]);
    await expectNoConflictRecorded(agent);
  });

  it("is not recorded against a collector that stopped or went silent", async () => {
    const agent = 73;
    await registerAndBeat(agent, [
      ["collector-stopped", "uid-one", 0],
      ["collector-stopped", "uid-one", 1_000, true],
      ["collector-silent", "uid-two", 2_000],
      // Older than CONNECTED_WITHIN_MS by now: disconnected, whatever it reported.
      ["collector-new", "uid-three", 2_000 + CONNECTED_WITHIN_MS + 1_000],
    ]);
    await expectNoConflictRecorded(agent);
  });

  it("is recorded again when a collector reconnects after it stopped and the conflict returns", async () => {
    const agent = 74;
    const later = 2_000 + CONNECTED_WITHIN_MS + 60_000;
    await registerAndBeat(agent, [
      ["collector-a", "uid-one", 0],
      ["collector-b", "uid-two", 1_000],
      ["collector-b", "uid-two", 2_000, true],
      ["collector-a", "uid-one", later - 1_000],
      ["collector-b", "uid-two", later],
    ]);
    expect(await conflictAudits(agent)).toHaveLength(2);
    expect(await queuedAlerts(agent)).toHaveLength(2);
  });

  it("is recorded once when a stopped collector returns within the same 3 minutes (a lever to flood)", async () => {
    const agent = 75;
    await registerAndBeat(agent, [
      ["collector-a", "uid-one", 0],
      ["collector-b", "uid-two", 1_000],
      ["collector-b", "uid-two", 2_000, true],
      ["collector-a", "uid-one", 10_000],
      ["collector-b", "uid-two", 11_000],
    ]);
    expect(await conflictAudits(agent)).toHaveLength(1);
    expect(await queuedAlerts(agent)).toHaveLength(1);
  });
});
