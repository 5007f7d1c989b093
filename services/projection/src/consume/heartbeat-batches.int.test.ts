import type { CheckpointedEvent } from "@kasmap/bus";
import {
  AUDIT_EVENT_TYPES,
  CONNECTED_WITHIN_MS,
  type KasmapEvent,
  type ReadModelNotice,
} from "@kasmap/contracts";
import { MAX_COLLECTOR_CONNECTIONS_PER_AGENT, migrateReadModel } from "@kasmap/db";
import { replicaHeartbeat, seededRandom } from "@kasmap/testing";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dedupeChangeNotices } from "../notify/change-notices.ts";
import { createProjectionTestContext, type ProjectionTestContext } from "../testing/projection-context.ts";
import { projectBatch } from "./projection-consumer.ts";

/**
 * Heartbeats applied set-based (`projectHeartbeatBatch`) leave the read model, the audit log, the
 * alert outbox and the notices exactly as the same heartbeats applied one per batch, where each
 * reads the state its predecessor wrote. Two read models (two test worlds) get the same events.
 */
let oneByOne: ProjectionTestContext;
let batched: ProjectionTestContext;

beforeAll(async () => {
  [oneByOne, batched] = await Promise.all([
    createProjectionTestContext("heartbeat-batches-one-by-one"),
    createProjectionTestContext("heartbeat-batches-batched"),
  ]);
  await Promise.all([migrateReadModel(oneByOne.db), migrateReadModel(batched.db)]);
});

afterAll(async () => {
  await Promise.all([oneByOne?.dispose(), batched?.dispose()]);
});

/** After every reported time: the server stored each message later than its collector sent it. */
const STORED_AT = new Date("2030-01-01T00:00:00.000Z");
const T0 = Date.parse("2026-06-01T00:00:00.000Z");
const AGENTS = [41, 42, 43, 44, 45];
/** An agent whose collector credentials invent more collector ids than are kept. */
const FLOODING_AGENT = 46;

function stored(
  ctx: ProjectionTestContext,
  stream: "registry" | "heartbeat",
  events: readonly KasmapEvent[],
) {
  return events.map(
    (event, i): CheckpointedEvent => ({
      event,
      meta: {
        stream: ctx.topology.streamNames[stream],
        seq: i + 1,
        subject: event.subject,
        deliveryCount: 1,
        storedAt: STORED_AT,
        bytes: 0,
      },
    }),
  );
}

/** Applies `events` (already numbered by `stored`) in batches of the given sizes, in order. */
async function applyInBatches(
  ctx: ProjectionTestContext,
  stream: "registry" | "heartbeat",
  events: readonly KasmapEvent[],
  sizes: () => number,
): Promise<ReadModelNotice[]> {
  const items = stored(ctx, stream, events);
  const notices: ReadModelNotice[] = [];
  for (let i = 0; i < items.length; ) {
    const batch = items.slice(i, i + sizes());
    i += batch.length;
    const lastSeq = batch.at(-1)?.meta.seq ?? 0;
    notices.push(
      ...(await projectBatch(
        ctx.db,
        ctx.topology,
        `projection-${stream}`,
        ctx.topology.streamNames[stream],
        batch,
        lastSeq,
      )),
    );
  }
  return notices;
}

/**
 * 600 heartbeats of five agents' replicas: mostly 10–30 s apart, some after a silence longer than
 * `CONNECTED_WITHIN_MS` (a new connection), some late (older than the stored one), some stopping,
 * reporting one of two cluster UIDs or none (conflicts); then 70 invented collectors of one agent.
 */
function heartbeatStream(topology: ProjectionTestContext["topology"]): KasmapEvent[] {
  const next = seededRandom(12);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)] as T;
  const clocks = new Map(AGENTS.map((id) => [id, T0]));
  const events: KasmapEvent[] = [];
  for (let i = 0; i < 600; i++) {
    const agentId = pick(AGENTS);
    const roll = next();
    const gap = roll < 0.05 ? CONNECTED_WITHIN_MS + 60_000 : roll < 0.1 ? -45_000 : 10_000 + next() * 20_000;
    const at = (clocks.get(agentId) ?? T0) + gap;
    if (gap > 0) clocks.set(agentId, at);
    const clusterUid = pick(["uid-1", "uid-1", "uid-1", "uid-2", undefined]);
    events.push(
      replicaHeartbeat(topology, agentId, pick(["pod-a", "pod-b", "pod-c"]), new Date(at).toISOString(), {
        ...(clusterUid ? { clusterUid } : {}),
        ...(next() < 0.05 ? { stopping: true } : {}),
      }),
    );
  }
  for (let i = 0; i < MAX_COLLECTOR_CONNECTIONS_PER_AGENT + 6; i++) {
    events.push(
      replicaHeartbeat(topology, FLOODING_AGENT, `invented-${i}`, new Date(T0 + i * 1_000).toISOString(), {
        distinctSubject: true,
      }),
    );
  }
  return events;
}

async function readModelOf(ctx: ProjectionTestContext) {
  const { rows: connections } = await sql`
    select agent_id, collector_id, last_heartbeat_at, content_hash, disconnected_reported_at
      from read_model.agent_connections order by agent_id`.execute(ctx.db);
  const { rows: collectors } = await sql<{ agent_id: string }>`
    select * from read_model.collector_connections order by agent_id, collector_id`.execute(ctx.db);
  const { rows: audit } = await sql<{ event_type: string }>`
    select event_id, event_type, author_id, entity_id, entity_path, target_id, target_type, details,
           created_at, agent_id, stream_seq
      from read_model.audit_events order by stream_seq, event_id`.execute(ctx.db);
  const { rows: alerts } =
    await sql`select event_id, agent_id from read_model.alert_outbox order by event_id`.execute(ctx.db);
  return { connections, collectors, audit, alerts };
}

describe("heartbeats applied in batches", () => {
  it("leave the same rows, audit events, alerts and notices as one heartbeat per batch", async () => {
    const registry = [
      oneByOne.events.group(4),
      oneByOne.events.project(11, 4),
      ...[...AGENTS, FLOODING_AGENT].flatMap((id) => [
        oneByOne.events.agent(id, 11),
        oneByOne.events.agentToken(id * 10, id),
      ]),
    ];
    const heartbeats = heartbeatStream(oneByOne.topology);
    for (const ctx of [oneByOne, batched])
      await applyInBatches(ctx, "registry", registry, () => registry.length);

    const sizes = seededRandom(7);
    const [one, many] = await Promise.all([
      applyInBatches(oneByOne, "heartbeat", heartbeats, () => 1),
      applyInBatches(batched, "heartbeat", heartbeats, () => 1 + Math.floor(sizes() * 120)),
    ]);

    const expected = await readModelOf(oneByOne);
    // Not a vacuous comparison: the stream reconnects, conflicts and floods.
    const types = new Set(expected.audit.map((row) => row.event_type));
    expect(types).toContain(AUDIT_EVENT_TYPES.connected);
    expect(types).toContain(AUDIT_EVENT_TYPES.clusterConflict);
    expect(expected.alerts.length).toBeGreaterThan(0);
    expect(expected.collectors.filter((row) => Number(row.agent_id) === FLOODING_AGENT)).toHaveLength(
      MAX_COLLECTOR_CONNECTIONS_PER_AGENT,
    );
    expect(await readModelOf(batched)).toEqual(expected);
    // The same notices, each with the last position that raised it (stream names differ by world).
    const latest = (notices: ReadModelNotice[]) =>
      dedupeChangeNotices(notices).map(({ stream: _, ...n }) => n);
    expect(latest(many)).toEqual(latest(one));
  });
});
