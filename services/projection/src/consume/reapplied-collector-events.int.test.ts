import type { CheckpointedEvent } from "@kasmap/bus";
import { AUDIT_EVENT_TYPES, CONNECTED_WITHIN_MS, EVENT_TYPES, type KasmapEvent } from "@kasmap/contracts";
import { migrateReadModel } from "@kasmap/db";
import { buildClusterFacts, replicaHeartbeat } from "@kasmap/testing";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { partitionOfAgent } from "../partitions/agent-partition.ts";
import { partitionCheckpoint } from "../partitions/partition-checkpoint.ts";
import { createProjectionTestContext, type ProjectionTestContext } from "../testing/projection-context.ts";
import { projectBatch } from "./projection-consumer.ts";
import { type ProjectionCheckpoint, safeStartSeq } from "./projection-positions.ts";

/**
 * Collector events applied again leave the audit log and the alert outbox exactly as one in-order
 * application. Two read models (two test worlds) get the same events: `inOrder` applies each
 * stream once, in order, on the whole-stream checkpoint; `relaid` applies it under three
 * partitions, one of them lagging, then — `KASMAP_PROJECTION_PARTITIONS` changed between restarts
 * — under two, which start at the slowest of the three (`safeStartSeq`) and so apply again what
 * the others had applied for their agents.
 */
let inOrder: ProjectionTestContext;
let relaid: ProjectionTestContext;

beforeAll(async () => {
  [inOrder, relaid] = await Promise.all([
    createProjectionTestContext("reapplied-in-order"),
    createProjectionTestContext("reapplied-relaid"),
  ]);
  await Promise.all([migrateReadModel(inOrder.db), migrateReadModel(relaid.db)]);
  const registry = [
    inOrder.events.group(4),
    inOrder.events.project(11, 4),
    ...AGENTS.flatMap((id) => [inOrder.events.agent(id, 11), inOrder.events.agentToken(id * 10, id)]),
  ];
  for (const ctx of [inOrder, relaid]) {
    const items = numbered(ctx, "registry", registry);
    await projectBatch(
      ctx.db,
      ctx.topology,
      "projection-registry",
      stream(ctx, "registry"),
      items,
      items.length,
    );
  }
});

afterAll(async () => {
  await Promise.all([inOrder?.dispose(), relaid?.dispose()]);
});

/** Two agents in different partitions of three (so one can lag behind the other's). */
const AGENTS = [7, 8] as const;
const [AHEAD, LAGGING] = AGENTS;
/** After every reported time: the server stored each message later than its collector sent it. */
const STORED_AT = new Date("2030-01-01T00:00:00.000Z");
const T0 = Date.parse("2026-06-01T00:00:00.000Z");

type Role = "registry" | "cluster" | "heartbeat";

function stream(ctx: ProjectionTestContext, role: Role): string {
  return ctx.topology.streamNames[role];
}

/** The events as their stream holds them: sequences 1, 2, … in the given order. */
function numbered(
  ctx: ProjectionTestContext,
  role: Role,
  events: readonly KasmapEvent[],
): CheckpointedEvent[] {
  return events.map((event, i) => ({
    event,
    meta: {
      stream: stream(ctx, role),
      seq: i + 1,
      subject: event.subject,
      deliveryCount: 1,
      storedAt: STORED_AT,
      bytes: 0,
    },
  }));
}

function agentOf(item: CheckpointedEvent): number {
  return (item.event.data as { agent_id: number }).agent_id;
}

/**
 * What one partition's consumer does: from its checkpoint's start (`read`), applies its agents'
 * messages up to `upTo` (`batch`: one per batch, or all in one, as a backlog read at a restart),
 * and moves the checkpoint over the other partitions' too.
 */
async function consumePartition(
  ctx: ProjectionTestContext,
  role: "cluster" | "heartbeat",
  items: readonly CheckpointedEvent[],
  partition: { index: number; count: number },
  upTo: number,
  batch: "each" | "all",
): Promise<void> {
  const checkpoint: ProjectionCheckpoint = partitionCheckpoint(
    ctx.db,
    { consumer: `projection-${role}`, stream: stream(ctx, role), partition },
    async () => {},
  );
  const start = await checkpoint.read();
  const mine = items.filter(
    (item) =>
      item.meta.seq > start &&
      item.meta.seq <= upTo &&
      partitionOfAgent(agentOf(item), partition.count) === partition.index,
  );
  const runs = batch === "each" ? mine.map((item) => [item]) : mine.length > 0 ? [mine] : [];
  for (const run of runs)
    await projectBatch(ctx.db, ctx.topology, checkpoint, stream(ctx, role), run, run.at(-1)?.meta.seq ?? 0);
  await projectBatch(ctx.db, ctx.topology, checkpoint, stream(ctx, role), [], upTo);
}

/**
 * `events` applied as `inOrder` and as `relaid` apply them (see the top): under three partitions
 * the lagging agent's up to `upTo.lagging`, the others' up to `upTo.ahead`; under two, everything, each
 * partition's backlog in one batch (what the others had applied and what is new, together).
 * Returns the sequence the two-partition layout started at.
 */
async function applyBothWays(
  role: "cluster" | "heartbeat",
  events: readonly KasmapEvent[],
  upTo: { lagging: number; ahead: number },
) {
  const reference = numbered(inOrder, role, events);
  for (const item of reference)
    await projectBatch(
      inOrder.db,
      inOrder.topology,
      `projection-${role}`,
      stream(inOrder, role),
      [item],
      item.meta.seq,
    );

  const items = numbered(relaid, role, events);
  const end = items.length;
  const lagging = partitionOfAgent(LAGGING, 3);
  for (let index = 0; index < 3; index++)
    await consumePartition(
      relaid,
      role,
      items,
      { index, count: 3 },
      index === lagging ? upTo.lagging : upTo.ahead,
      "each",
    );
  const restart = await safeStartSeq(relaid.db, `projection-${role}`);
  for (let index = 0; index < 2; index++)
    await consumePartition(relaid, role, items, { index, count: 2 }, end, "all");
  return restart;
}

/** The alert the audit events of a stream's messages raise. */
const ALERT_OF_ROLE = {
  cluster: EVENT_TYPES.alertClusterChanged,
  heartbeat: EVENT_TYPES.alertClusterConflict,
} as const;

/**
 * The audit events of a stream's messages and the alerts they raised, without what differs by
 * world (ids, stream names, subjects).
 */
async function auditAndAlertsOf(ctx: ProjectionTestContext, role: "cluster" | "heartbeat") {
  const { rows: audit } = await sql<{ event_type: string; agent_id: string | null; details: unknown }>`
    select event_id, event_type, author_id, entity_id, entity_path, target_id, target_type, details,
           created_at, agent_id, stream_seq
      from read_model.audit_events where stream = ${stream(ctx, role)}
     order by stream_seq, event_id`.execute(ctx.db);
  const { rows: alerts } = await sql`
    select event_id, agent_id, event->'data' as data from read_model.alert_outbox
     where event->>'type' = ${ALERT_OF_ROLE[role]} order by event_id`.execute(ctx.db);
  return { audit, alerts };
}

function ofType<T extends { event_type: string; agent_id: string | null }>(
  rows: T[],
  type: string,
  agentId: number,
) {
  return rows.filter((row) => row.event_type === type && Number(row.agent_id) === agentId);
}

describe("collector events applied again after the partition count changed", () => {
  it("snapshots add no audit event nor alert: the log is one in-order application's", async () => {
    expect(partitionOfAgent(AHEAD, 3)).not.toBe(partitionOfAgent(LAGGING, 3));
    // Version v of an agent's facts: odd versions move it to another cluster (name and UID),
    // even ones change only the node count (no audit event the first time).
    const facts = (v: number) =>
      buildClusterFacts({
        cluster_name: `n${Math.ceil(v / 2)}`,
        cluster_uid: Math.ceil(v / 2) % 2 === 1 ? "uid-a" : "uid-b",
        node_count: v,
      });
    const snapshots = [1, 2, 3, 4, 5, 6, 7].flatMap((v) =>
      AGENTS.map((id) => inOrder.events.snapshot(id, facts(v))),
    );

    // Under three partitions, the lagging one applied only version 1 of its agent, the other
    // up to version 6 of its own. The two-partition layout starts after version 1: it applies
    // versions 2–6 of the agent ahead again (2 and 4, which changed only the node count, among
    // them), in one batch with its version 7, which is new.
    const upTo = { lagging: AGENTS.length, ahead: 6 * AGENTS.length };
    expect(await applyBothWays("cluster", snapshots, upTo)).toBe(AGENTS.length);

    const expected = await auditAndAlertsOf(inOrder, "cluster");
    // Not a vacuous comparison: each agent moved three times, and each move raised an alert.
    for (const id of AGENTS) {
      const chain = ofType(expected.audit, AUDIT_EVENT_TYPES.clusterInfoChanged, id).map((row) => {
        const d = row.details as { before: { cluster_name: string } | null; after: { cluster_name: string } };
        return `${d.before?.cluster_name ?? "-"}>${d.after.cluster_name}`;
      });
      expect(chain).toEqual(["->n1", "n1>n2", "n2>n3", "n3>n4"]);
      expect(ofType(expected.audit, AUDIT_EVENT_TYPES.clusterChanged, id)).toHaveLength(3);
    }
    expect(expected.alerts).toHaveLength(6);
    expect(await auditAndAlertsOf(relaid, "cluster")).toEqual(expected);
    // The history too, each snapshot once.
    const history = (ctx: ProjectionTestContext) =>
      ctx.db
        .selectFrom("read_model.cluster_snapshot_history")
        .select(["agent_id", "stream_seq", "content_hash"])
        .orderBy("stream_seq")
        .execute();
    expect(await history(relaid)).toEqual(await history(inOrder));
    expect(await relaid.latestCluster(AHEAD)).toEqual(facts(7));
  });

  it("heartbeats add no connection nor conflict: the log is one in-order application's", async () => {
    // The read model keeps no applied sequence per agent for heartbeats: what guards them is
    // time (`connectedEvents`, `clusterConflictEvents`), as the stored times only move forward.
    // Per agent: two collectors in two clusters at once (a conflict), a silence, both back (a
    // connection, another conflict).
    const at = (ms: number) => new Date(T0 + ms).toISOString();
    const back = CONNECTED_WITHIN_MS + 60_000;
    const beats: [pod: string, ms: number, uid: string][] = [
      ["pod-a", 0, "uid-a"],
      ["pod-b", 10_000, "uid-b"],
      ["pod-a", 40_000, "uid-a"],
      ["pod-a", back, "uid-a"],
      ["pod-b", back + 10_000, "uid-b"],
      ["pod-a", back + 40_000, "uid-a"],
    ];
    const heartbeats = beats.flatMap(([pod, ms, clusterUid]) =>
      AGENTS.map((id) => replicaHeartbeat(inOrder.topology, id, pod, at(ms), { clusterUid })),
    );

    // As for snapshots: the agent ahead gets all but its last heartbeat again, with the last.
    const upTo = { lagging: AGENTS.length, ahead: (beats.length - 1) * AGENTS.length };
    expect(await applyBothWays("heartbeat", heartbeats, upTo)).toBe(AGENTS.length);

    const expected = await auditAndAlertsOf(inOrder, "heartbeat");
    for (const id of AGENTS) {
      expect(ofType(expected.audit, AUDIT_EVENT_TYPES.connected, id)).toHaveLength(2);
      expect(ofType(expected.audit, AUDIT_EVENT_TYPES.clusterConflict, id)).toHaveLength(2);
    }
    expect(expected.alerts).toHaveLength(4);
    expect(await auditAndAlertsOf(relaid, "heartbeat")).toEqual(expected);
  });
});
