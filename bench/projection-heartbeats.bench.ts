/**
 * How close does the projection come to PostgreSQL's own speed on heartbeats? (issue 12, goal 1's
 * rule — the projection ≥ 0.5× a raw batched upsert — for the events it gets most of: every
 * collector of every agent beats every 30 s, 667/s for 10,000 agents with two replicas each.)
 *
 * Method: a fresh topology (random root) on NATS_URL / DATABASE_URL (or the local defaults).
 * AGENTS agents, each registered with an active token, have two collectors (agentk's two
 * replicas). Round 1: each collector's first heartbeat, applied by the projection service (not
 * timed); then the tables are vacuumed and analyzed, as autovacuum would after such a load (this
 * machine runs PostgreSQL with autovacuum off). Each later round: each collector's next
 * heartbeat, 30 s after its last, published while the service is stopped, so the stream holds a
 * backlog of AGENTS × 2 heartbeats (one per collector's subject, as the heartbeat stream keeps) —
 * what a projection finds after a restart, or falling behind.
 * - baseline, a raw batched upsert without NATS: on a fresh database holding round 1's rows, each
 *   later round in stream order, in batches of 500, each batch one transaction of one `INSERT …
 *   SELECT … FROM unnest(…) ON CONFLICT …` per table — the agents' connections (each agent's last
 *   in the batch), the collectors' rows — and the checkpoint. Rows are built before the clock
 *   starts. BASELINE_BACKLOGS rounds, each timed.
 * - subject: for each of PROJECTION_BACKLOGS rounds, the projection service started again, timed
 *   from its start until its heartbeat position shows the stream's last sequence (polled every
 *   10 ms). Then checks every agent's and collector's last heartbeat is from a later round, one
 *   `cluster_agent_connected` audit event per agent (round 1's: later rounds reconnect nothing),
 *   and that nothing was dead-lettered.
 * Figures: heartbeats/s of each side (the median backlog's, and every backlog's) and the
 * subject's ratio to the baseline.
 *
 * Run: npx tsx bench/projection-heartbeats.bench.ts (BENCH_HEARTBEAT_AGENTS, default 5,000)
 */
import { cpus } from "node:os";
import { pathToFileURL } from "node:url";
import { type Bus, publishEvent } from "@kasmap/bus";
import { AUDIT_EVENT_TYPES, type EVENT_TYPES, type KasmapEvent, type KasmapEventOf } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import { createLogger } from "@kasmap/logging";
import { startProjectionService } from "@kasmap/projection-service";
import { replicaHeartbeat, testEvents } from "@kasmap/testing";
import { type Kysely, sql } from "kysely";
import { withBenchStreams } from "./support/bench-streams.ts";
import { printGoal } from "./support/goal.ts";
import { migratedReadModelDatabase, untilPosition } from "./support/read-model-database.ts";
import { median } from "./support/stats.ts";

const AGENTS = Number(process.env.BENCH_HEARTBEAT_AGENTS ?? 5_000);
const COLLECTORS = ["agentk-a", "agentk-b"] as const;
const BATCH = 500;
const CONSUMER = "projection-heartbeat";
const ROUND_1 = Date.UTC(2026, 0, 1);
const ROUND_2 = ROUND_1 + 30_000;
/**
 * Backlogs timed: one round takes the baseline ~0.15 s, so one stall elsewhere on the machine
 * decides a single timing (seen: 10,946 against the usual 45,000–72,000 heartbeats/s). Each side
 * is timed on this many backlogs, each round 30 s after the one before, and its median is used.
 */
const BASELINE_BACKLOGS = 5;
const PROJECTION_BACKLOGS = 3;
const PUBLISHING = 64;

type HeartbeatEvent = KasmapEventOf<typeof EVENT_TYPES.clusterHeartbeat>;
type Heartbeat = { agentId: number; collectorId: string; sentAt: string; event: HeartbeatEvent };

/** Each collector's heartbeat of one round, a few hundred ms apart across the fleet. */
function round(bus: Bus, at: number): Heartbeat[] {
  const beats: Heartbeat[] = [];
  for (let agentId = 1; agentId <= AGENTS; agentId++) {
    COLLECTORS.forEach((collectorId, replica) => {
      const sentAt = new Date(at + ((agentId * 7 + replica * 13) % 500)).toISOString();
      const event = replicaHeartbeat(bus.topology, agentId, collectorId, sentAt, {
        ip: `10.244.${agentId % 250}.${replica + 2}`,
        clusterUid: `uid-${agentId}`,
      }) as HeartbeatEvent;
      beats.push({ agentId, collectorId, sentAt, event });
    });
  }
  return beats;
}

async function publishAll(bus: Bus, events: readonly KasmapEvent[]): Promise<number> {
  let next = 0;
  let lastSeq = 0;
  await Promise.all(
    Array.from({ length: PUBLISHING }, async () => {
      while (next < events.length) {
        const event = events[next++] as KasmapEvent;
        lastSeq = Math.max(lastSeq, (await publishEvent(bus, event)).seq);
      }
    }),
  );
  return lastSeq;
}

/** One batch's rows, as the column arrays of the baseline's `unnest` statements. */
type BaselineBatch = {
  agents: { agent: number[]; collector: string[]; at: string[] };
  collectors: {
    agent: number[];
    collector: string[];
    pod: string[];
    ip: string[];
    uid: string[];
    at: string[];
  };
};

function baselineBatches(beats: readonly Heartbeat[]): BaselineBatch[] {
  const batches: BaselineBatch[] = [];
  for (let start = 0; start < beats.length; start += BATCH) {
    const slice = beats.slice(start, start + BATCH);
    const batch: BaselineBatch = {
      agents: { agent: [], collector: [], at: [] },
      collectors: { agent: [], collector: [], pod: [], ip: [], uid: [], at: [] },
    };
    const lastOfAgent = new Map<number, Heartbeat>();
    for (const beat of slice) {
      const previous = lastOfAgent.get(beat.agentId);
      if (!previous || previous.sentAt < beat.sentAt) lastOfAgent.set(beat.agentId, beat);
      const { data } = beat.event;
      batch.collectors.agent.push(beat.agentId);
      batch.collectors.collector.push(beat.collectorId);
      batch.collectors.pod.push(data.pod_name ?? "");
      batch.collectors.ip.push(data.pod_ip ?? "");
      batch.collectors.uid.push(data.cluster_uid ?? "");
      batch.collectors.at.push(beat.sentAt);
    }
    for (const beat of lastOfAgent.values()) {
      batch.agents.agent.push(beat.agentId);
      batch.agents.collector.push(beat.collectorId);
      batch.agents.at.push(beat.sentAt);
    }
    batches.push(batch);
  }
  return batches;
}

async function upsertBatch(db: Kysely<ReadModelDatabase>, b: BaselineBatch, stream: string, seq: number) {
  await db.transaction().execute(async (trx) => {
    await sql`
      insert into read_model.agent_connections (agent_id, collector_id, last_heartbeat_at)
      select * from unnest(${b.agents.agent}::bigint[], ${b.agents.collector}::text[], ${b.agents.at}::timestamptz[])
      on conflict (agent_id) do update set collector_id = excluded.collector_id,
        last_heartbeat_at = excluded.last_heartbeat_at, disconnected_reported_at = null
      where read_model.agent_connections.last_heartbeat_at < excluded.last_heartbeat_at`.execute(trx);
    const c = b.collectors;
    await sql`
      insert into read_model.collector_connections
        (agent_id, collector_id, pod_name, pod_ip, cluster_uid, connected_at, last_heartbeat_at)
      select a, k, p, i, u, t, t
        from unnest(${c.agent}::bigint[], ${c.collector}::text[], ${c.pod}::text[], ${c.ip}::text[], ${c.uid}::text[],
                    ${c.at}::timestamptz[]) as x(a, k, p, i, u, t)
      on conflict (agent_id, collector_id) do update set pod_name = excluded.pod_name, pod_ip = excluded.pod_ip,
        cluster_uid = excluded.cluster_uid, last_heartbeat_at = excluded.last_heartbeat_at
      where read_model.collector_connections.last_heartbeat_at < excluded.last_heartbeat_at`.execute(trx);
    await sql`
      insert into read_model.projection_positions (consumer, stream, stream_seq) values (${CONSUMER}, ${stream}, ${seq})
      on conflict (consumer) do update set stream_seq = excluded.stream_seq, updated_at = now()`.execute(trx);
  });
}

/**
 * The raw batched upsert of each later round on a database holding round 1's rows (untimed):
 * seconds per round.
 */
async function rawBatchedUpsert(first: readonly Heartbeat[], later: readonly Heartbeat[][], stream: string) {
  const before = baselineBatches(first);
  const rounds = later.map(baselineBatches);
  const { database, db } = await migratedReadModelDatabase();
  try {
    for (const b of before) await upsertBatch(db, b, stream, 0);
    await sql`vacuum (analyze)`.execute(db);
    const seconds: number[] = [];
    let seq = 0;
    for (const batches of rounds) {
      const started = performance.now();
      for (const b of batches) await upsertBatch(db, b, stream, ++seq);
      seconds.push((performance.now() - started) / 1000);
    }
    return seconds;
  } finally {
    await db.destroy();
    await database.drop();
  }
}

async function checkRows(db: Kysely<ReadModelDatabase>): Promise<void> {
  const count = async (query: ReturnType<typeof sql<{ n: string }>>) =>
    Number((await query.execute(db)).rows[0]?.n ?? -1);
  const after = new Date(ROUND_2).toISOString();
  const found = {
    agents: await count(
      sql`select count(*) as n from read_model.agent_connections where last_heartbeat_at >= ${after}`,
    ),
    collectors: await count(
      sql`select count(*) as n from read_model.collector_connections where last_heartbeat_at >= ${after}`,
    ),
    connected: await count(
      sql`select count(*) as n from read_model.audit_events where event_type = ${AUDIT_EVENT_TYPES.connected}`,
    ),
  };
  const expected = { agents: AGENTS, collectors: AGENTS * COLLECTORS.length, connected: AGENTS };
  if (JSON.stringify(found) !== JSON.stringify(expected)) {
    throw new Error(`projection rows ${JSON.stringify(found)}, expected ${JSON.stringify(expected)}`);
  }
}

/** Each later round as a backlog the projection service finds at its start: seconds per round. */
async function projectionRun(bus: Bus, first: readonly Heartbeat[], later: readonly Heartbeat[][]) {
  const { database, db } = await migratedReadModelDatabase();
  const start = () =>
    startProjectionService({ bus, databaseUrl: database.url, logger: createLogger("projection", "silent") });
  try {
    const e = testEvents(bus.topology);
    const registryLast = await publishAll(
      bus,
      Array.from({ length: AGENTS }, (_, i) => [e.agent(i + 1, 1), e.agentToken(i + 1, i + 1)]).flat(),
    );
    const firstLast = await publishAll(
      bus,
      first.map((beat) => beat.event),
    );
    const warm = await start();
    await untilPosition(db, "projection-registry", registryLast);
    await untilPosition(db, CONSUMER, firstLast);
    await warm.stop();
    await sql`vacuum (analyze)`.execute(db);
    const seconds: number[] = [];
    for (const backlog of later) {
      const lastSeq = await publishAll(
        bus,
        backlog.map((beat) => beat.event),
      );
      const started = performance.now();
      const service = await start();
      try {
        await untilPosition(db, CONSUMER, lastSeq);
      } finally {
        await service.stop();
      }
      seconds.push((performance.now() - started) / 1000);
    }
    const dead = await bus.jsm.streams.info(bus.topology.streamNames.deadLetter);
    if (dead.state.messages > 0) throw new Error(`${dead.state.messages} events were dead-lettered`);
    await checkRows(db);
    return seconds;
  } finally {
    await db.destroy();
    await database.drop();
  }
}

export async function runProjectionHeartbeatsBench(): Promise<void> {
  process.env.DATABASE_URL ??= "postgres://postgres@127.0.0.1:5432/postgres";
  await withBenchStreams("projection-heartbeats-bench", async (bus) => {
    const first = round(bus, ROUND_1);
    const later = (count: number) =>
      Array.from({ length: count }, (_, k) => round(bus, ROUND_2 + k * 30_000));
    const baselineTimes = await rawBatchedUpsert(
      first,
      later(BASELINE_BACKLOGS),
      bus.topology.streamNames.heartbeat,
    );
    const projectionTimes = await projectionRun(bus, first, later(PROJECTION_BACKLOGS));
    const [baseline, projection] = [median(baselineTimes), median(projectionTimes)];
    const rate = (seconds: number) => first.length / seconds;
    const rates = (times: number[]) => times.map((t) => rate(t).toFixed(0)).join(", ");
    console.log(
      `projection heartbeats (${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}; ` +
        `backlogs of ${first.length} heartbeats: ${AGENTS} agents × ${COLLECTORS.length} collectors, each 30 s after the one before)`,
    );
    console.log(
      `  baseline raw batched upsert (unnest per table per ${BATCH}, no NATS): ${rate(baseline).toFixed(0)} heartbeats/s ` +
        `(median of ${BASELINE_BACKLOGS} backlogs: ${rates(baselineTimes)})`,
    );
    console.log(
      `  projection service, stream to committed rows: ${rate(projection).toFixed(0)} heartbeats/s ` +
        `(median of ${PROJECTION_BACKLOGS} backlogs: ${rates(projectionTimes)})`,
    );
    console.log(
      "  rows checked: every agent's and collector's last heartbeat, one connection event per agent; dead letters: 0",
    );
    printGoal({
      name: "projection-heartbeats",
      measured: baseline / projection,
      kind: "atLeast",
      bound: 0.5,
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await runProjectionHeartbeatsBench();
  process.exit(0);
}
