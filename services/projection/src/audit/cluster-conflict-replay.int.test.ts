import type { CheckpointedEvent } from "@kasmap/bus";
import { AUDIT_EVENT_TYPES, type EVENT_TYPES, type KasmapEvent, type KasmapEventOf } from "@kasmap/contracts";
import { migrateReadModel } from "@kasmap/db";
import { replicaHeartbeat } from "@kasmap/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectBatch } from "../consume/projection-consumer.ts";
import { createProjectionTestContext, type ProjectionTestContext } from "../testing/projection-context.ts";
import { CLUSTER_CONFLICT_WINDOW_MS } from "./audit-events.ts";

/**
 * The bounded `cluster_agent_cluster_conflict` (per agent and window of its clock, one per count
 * of clusters from 2 to `CLUSTER_CONFLICT_CLUSTERS_NAMED`) is decided
 * from the stream and the read model alone: two read models given the same flood of invented
 * collectors — one message per batch, and the whole stream in one batch — write the same audit
 * rows and alerts, and applying the stream again (a fresh consumer position, as a rebuild's, with
 * the connections reset as a rebuild resets them and the kept audit log and outbox) adds none.
 */
let oneByOne: ProjectionTestContext;
let oneBatch: ProjectionTestContext;

const AGENT = 9;
/** After every reported time: the server stored each message later than its collector sent it. */
const STORED_AT = new Date("2030-01-01T00:00:00.000Z");
const T0 = Date.parse("2026-06-01T00:00:00.000Z");
const W = CLUSTER_CONFLICT_WINDOW_MS;

beforeAll(async () => {
  [oneByOne, oneBatch] = await Promise.all([
    createProjectionTestContext("conflict-replay-one-by-one"),
    createProjectionTestContext("conflict-replay-one-batch"),
  ]);
  await Promise.all([migrateReadModel(oneByOne.db), migrateReadModel(oneBatch.db)]);
  for (const ctx of [oneByOne, oneBatch]) {
    const e = ctx.events;
    const items = numbered(ctx, "registry", [
      e.group(4),
      e.project(11, 4),
      e.agent(AGENT, 11),
      e.agentToken(AGENT * 10, AGENT),
    ]);
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
  await Promise.all([oneByOne?.dispose(), oneBatch?.dispose()]);
});

function stream(ctx: ProjectionTestContext, role: "registry" | "heartbeat"): string {
  return ctx.topology.streamNames[role];
}

/** The events as their stream holds them: sequences 1, 2, … in the given order. */
function numbered(
  ctx: ProjectionTestContext,
  role: "registry" | "heartbeat",
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

/**
 * An honest pair of clusters, then invented collectors in invented clusters: 30 in the first
 * window, 30 in the second (with the honest collector still beating), 10 backdated. Built once:
 * both read models get the same messages (CloudEvent ids and times).
 */
let heartbeats: KasmapEvent[] | undefined;
function flood(ctx: ProjectionTestContext): KasmapEvent[] {
  heartbeats ??= floodOf(ctx);
  return heartbeats;
}

function floodOf(ctx: ProjectionTestContext): KasmapEvent[] {
  const beat = (pod: string, uid: string, ms: number) =>
    replicaHeartbeat(ctx.topology, AGENT, pod, new Date(T0 + ms).toISOString(), { clusterUid: uid });
  const invented = (tag: string, fromMs: number, count: number) =>
    Array.from({ length: count }, (_, i) => beat(`evil-${tag}-${i}`, `uid-${tag}-${i}`, fromMs + i * 1_000));
  return [
    beat("collector-a", "uid-one", 0),
    beat("collector-b", "uid-two", 1_000),
    ...invented("one", 2_000, 30),
    beat("collector-a", "uid-one", 60_000),
    beat("collector-a", "uid-one", 120_000),
    beat("collector-a", "uid-one", W + 1_000),
    ...invented("two", W + 2_000, 30),
    ...invented("old", -60 * 60_000, 10),
  ];
}

type ConflictAlert = KasmapEventOf<typeof EVENT_TYPES.alertClusterConflict>;

/** The conflict rows and every queued alert of the read model, without serial ids. */
async function conflictsAndAlerts(ctx: ProjectionTestContext) {
  const audit = await ctx.db
    .selectFrom("read_model.audit_events")
    .select(["event_id", "details", "created_at", "stream_seq"])
    .where("agent_id", "=", AGENT)
    .where("event_type", "=", AUDIT_EVENT_TYPES.clusterConflict)
    .orderBy("event_id")
    .execute();
  const alerts = await ctx.db
    .selectFrom("read_model.alert_outbox")
    .select(["event_id", "event"])
    .where("agent_id", "=", AGENT)
    .orderBy("event_id")
    .execute();
  // The subject names each read model's own topology; the rest must match. In the audit log's order.
  const alertsByAudit = alerts
    .map(({ event_id, event }) => ({ event_id, data: (event as ConflictAlert).data }))
    .sort((a, b) => a.data.audit_event_id.localeCompare(b.data.audit_event_id));
  return { audit, alerts: alertsByAudit };
}

/** Applies the heartbeats under consumer `consumer` from its start, `each` in its own batch or all in one. */
async function apply(ctx: ProjectionTestContext, consumer: string, batch: "each" | "all"): Promise<void> {
  const items = numbered(ctx, "heartbeat", flood(ctx));
  const runs = batch === "each" ? items.map((item) => [item]) : [items];
  for (const run of runs)
    await projectBatch(
      ctx.db,
      ctx.topology,
      consumer,
      stream(ctx, "heartbeat"),
      run,
      run.at(-1)?.meta.seq ?? 0,
    );
}

describe("cluster_agent_cluster_conflict applied again", () => {
  it("is the same bounded log one by one and in one batch: one per window and count of clusters", async () => {
    await apply(oneByOne, "projection-heartbeat", "each");
    await apply(oneBatch, "projection-heartbeat", "all");
    const expected = await conflictsAndAlerts(oneByOne);
    const first = `cluster_conflict:${AGENT}:${new Date(T0).toISOString()}`;
    expect(expected.audit.map((r) => [r.event_id, r.stream_seq])).toEqual([
      [first, 2],
      [`${first}:3`, 3],
      [`${first}:4`, 4],
      // The second window's first conflict already spans four clusters and more.
      [`cluster_conflict:${AGENT}:${new Date(T0 + W).toISOString()}:4`, 36],
    ]);
    expect(expected.alerts.map((a) => a.data)).toEqual(
      expected.audit.map((r) => expect.objectContaining({ audit_event_id: r.event_id, details: r.details })),
    );
    expect(await conflictsAndAlerts(oneBatch)).toEqual(expected);
  });

  it("adds nothing when the stream is applied again, onto the state it left or a rebuilt one", async () => {
    const expected = await conflictsAndAlerts(oneByOne);
    // Re-application onto the later state: every heartbeat is older than its collector's.
    await apply(oneByOne, "conflict-replay-again", "each");
    expect(await conflictsAndAlerts(oneByOne)).toEqual(expected);

    // A rebuild: the connections start empty, the audit log and the outbox are kept.
    for (const ctx of [oneByOne, oneBatch]) {
      await ctx.db.deleteFrom("read_model.collector_connections").execute();
      await ctx.db.deleteFrom("read_model.agent_connections").execute();
    }
    await apply(oneByOne, "conflict-replay-rebuild", "each");
    await apply(oneBatch, "conflict-replay-rebuild", "all");
    expect(await conflictsAndAlerts(oneByOne)).toEqual(expected);
    expect(await conflictsAndAlerts(oneBatch)).toEqual(expected);
  });
});
