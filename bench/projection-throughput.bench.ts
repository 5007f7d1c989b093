/**
 * How close does the projection come to the fastest way PostgreSQL can take the same rows?
 * (issue 12, goal 1: ≥ 0.5× a raw batched upsert.)
 *
 * Method: a fresh topology (random root; streams from ensureStreams) on NATS_URL / DATABASE_URL
 * (or the local defaults). AGENTS agents, each registered with an active token, publish VERSIONS
 * snapshots of a 100-node dual-stack cluster (the large-cluster fixture's facts, ~8 KB, ~300
 * address rows); each version replaces two more nodes' IPv4 addresses (internal and external),
 * the share a rolling node replacement changes, so every snapshot moves `node_ips` (an audit
 * event) and a few address rows. Then, in the same run:
 * - baseline, a raw batched upsert without NATS: on a fresh database, the events in stream order,
 *   in batches of 500, each batch one transaction of one `INSERT … SELECT … FROM unnest(…)
 *   ON CONFLICT …` per table, writing every row of each event in full: the latest facts (the
 *   batch's last per agent), the history row, every address row, the audit row, the checkpoint.
 *   Rows are built before the clock starts: only PostgreSQL's work is timed.
 * - subject: on a second fresh database holding the same registry (applied with its position,
 *   so the registry consumer has caught up), startProjectionService, timed from its start until
 *   `read_model.projection_positions` shows the cluster stream's last sequence (polled every
 *   10 ms). Then checks the rows it must have written — history, latest, addresses (of the last
 *   facts), audit events — and that the dead-letter stream is empty; a mismatch fails the bench.
 * Figures: events/s of each and the subject's ratio to the baseline.
 *
 * Run: npx tsx bench/projection-throughput.bench.ts
 */
import { cpus } from "node:os";
import { pathToFileURL } from "node:url";
import { type Bus, type MessageMeta, publishEvent } from "@kasmap/bus";
import { clusterFactsContentHash, deriveClusterFacts } from "@kasmap/cluster-info";
import { largeDualStackObservation } from "@kasmap/cluster-info/testing";
import {
  AUDIT_EVENT_TYPES,
  type ClusterFacts,
  EVENT_TYPES,
  type KasmapEvent,
  type KasmapEventOf,
  newKasmapEvent,
} from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import { createLogger } from "@kasmap/logging";
import {
  addressRowsFor,
  auditEventsFor,
  NO_PREVIOUS_STATE,
  projectMessage,
  startProjectionService,
} from "@kasmap/projection-service";
import { testEvents } from "@kasmap/testing";
import { type Kysely, sql } from "kysely";
import { withBenchStreams } from "./support/bench-streams.ts";
import { printGoal } from "./support/goal.ts";
import { migratedReadModelDatabase, untilPosition } from "./support/read-model-database.ts";

const AGENTS = Number(process.env.BENCH_AGENTS ?? 200);
const VERSIONS = Number(process.env.BENCH_VERSIONS ?? 10);
const NODES = 100;
/** Nodes whose addresses each version replaces (of NODES). */
const REPLACED_PER_VERSION = 2;
const BATCH = 500;
const CONSUMER = "projection-cluster";

type SnapshotEvent = KasmapEventOf<typeof EVENT_TYPES.clusterSnapshot>;
type Stored<E extends KasmapEvent = KasmapEvent> = { event: E; meta: MessageMeta };

const BASE_FACTS = deriveClusterFacts(largeDualStackObservation(NODES), new Date(Date.UTC(2026, 0, 1)));

/** The agent's facts at `version`: nodes 0 … 2·version−1 carry replacement IPv4 addresses. */
function factsAt(agentId: number, version: number): ClusterFacts {
  const replaced = REPLACED_PER_VERSION * version;
  const swap = (prefix: string) => (ip: string, index: number) =>
    index < replaced && !ip.includes(":") ? `${prefix}.${index}.${agentId % 250}` : ip;
  return {
    ...BASE_FACTS,
    cluster_name: `cluster-${agentId}`,
    node_ips: {
      internal: BASE_FACTS.node_ips.internal.map(swap("100.64")),
      external: BASE_FACTS.node_ips.external.map(swap("198.18")),
    },
    observed_at: new Date(Date.UTC(2026, 0, 1, 0, version)).toISOString(),
  };
}

function storedMeta(stream: string, seq: number, subject: string): MessageMeta {
  return { stream, seq, subject, deliveryCount: 1, storedAt: new Date(), bytes: 0 };
}

/** Agents and their active tokens: the projection applies snapshots only for those (issue 7.6). */
async function publishRegistry(bus: Bus): Promise<Stored[]> {
  const e = testEvents(bus.topology);
  const published: Stored[] = [];
  for (let agentId = 1; agentId <= AGENTS; agentId++) {
    for (const event of [e.agent(agentId, 1), e.agentToken(agentId, agentId)]) {
      const ack = await publishEvent(bus, event);
      published.push({ event, meta: storedMeta(ack.stream, ack.seq, event.subject) });
    }
  }
  return published;
}

/** Version by version, all agents concurrently: each agent's snapshots stay in order. */
async function publishSnapshots(bus: Bus): Promise<Stored<SnapshotEvent>[]> {
  const published: Stored<SnapshotEvent>[] = [];
  for (let version = 0; version < VERSIONS; version++) {
    const round = await Promise.all(
      Array.from({ length: AGENTS }, async (_, i) => {
        const agentId = i + 1;
        const cluster = factsAt(agentId, version);
        const event = newKasmapEvent({
          type: EVENT_TYPES.clusterSnapshot,
          source: "/kasmap/bench",
          subject: bus.topology.subjects.clusterSnapshot(agentId),
          data: { agent_id: agentId, content_hash: clusterFactsContentHash(cluster), cluster },
        }) as SnapshotEvent;
        const ack = await publishEvent(bus, event);
        return { event, meta: storedMeta(ack.stream, ack.seq, event.subject) };
      }),
    );
    published.push(...round);
  }
  return published.sort((a, b) => a.meta.seq - b.meta.seq);
}

/** One batch's rows, as the column arrays of the baseline's `unnest` statements. */
type BaselineBatch = {
  latest: { agent: number[]; hash: string[]; cluster: string[]; observed: string[]; seq: number[] };
  history: { agent: number[]; hash: string[]; cluster: string[]; observed: string[]; seq: number[] };
  addresses: { agent: number[]; field: string[]; address: string[] };
  audit: {
    id: string[];
    type: string[];
    target: number[];
    details: string[];
    created: string[];
    agent: number[];
    stream: string[];
    seq: number[];
  };
  lastSeq: number;
};

function baselineBatches(events: Stored<SnapshotEvent>[]): BaselineBatch[] {
  const previous = new Map<number, ClusterFacts>();
  const batches: BaselineBatch[] = [];
  for (let start = 0; start < events.length; start += BATCH) {
    const slice = events.slice(start, start + BATCH);
    const batch: BaselineBatch = {
      latest: { agent: [], hash: [], cluster: [], observed: [], seq: [] },
      history: { agent: [], hash: [], cluster: [], observed: [], seq: [] },
      addresses: { agent: [], field: [], address: [] },
      audit: { id: [], type: [], target: [], details: [], created: [], agent: [], stream: [], seq: [] },
      lastSeq: slice.at(-1)?.meta.seq ?? 0,
    };
    const lastOfAgent = new Map<number, Stored<SnapshotEvent>>();
    for (const item of slice) {
      const { event, meta } = item;
      const { agent_id: agentId, content_hash: hash, cluster } = event.data;
      lastOfAgent.set(agentId, item);
      const json = JSON.stringify(cluster);
      batch.history.agent.push(agentId);
      batch.history.hash.push(hash);
      batch.history.cluster.push(json);
      batch.history.observed.push(cluster.observed_at);
      batch.history.seq.push(meta.seq);
      for (const row of addressRowsFor(agentId, cluster)) {
        batch.addresses.agent.push(agentId);
        batch.addresses.field.push(row.field);
        batch.addresses.address.push(row.address);
      }
      const drafts = auditEventsFor(event, { ...NO_PREVIOUS_STATE, snapshot: previous.get(agentId) ?? null });
      previous.set(agentId, cluster);
      for (const draft of drafts) {
        batch.audit.id.push(draft.event_id);
        batch.audit.type.push(draft.event_type);
        batch.audit.target.push(draft.target_id);
        batch.audit.details.push(JSON.stringify(draft.details));
        batch.audit.created.push(draft.created_at);
        batch.audit.agent.push(agentId);
        batch.audit.stream.push(meta.stream);
        batch.audit.seq.push(meta.seq);
      }
    }
    for (const { event, meta } of lastOfAgent.values()) {
      batch.latest.agent.push(event.data.agent_id);
      batch.latest.hash.push(event.data.content_hash);
      batch.latest.cluster.push(JSON.stringify(event.data.cluster));
      batch.latest.observed.push(event.data.cluster.observed_at);
      batch.latest.seq.push(meta.seq);
    }
    batches.push(batch);
  }
  return batches;
}

/** The raw batched upsert: one statement per table per batch, one transaction per batch. */
async function rawBatchedUpsert(events: Stored<SnapshotEvent>[], stream: string): Promise<number> {
  const batches = baselineBatches(events);
  const { database, db } = await migratedReadModelDatabase();
  try {
    const started = performance.now();
    for (const b of batches) {
      await db.transaction().execute(async (trx) => {
        await sql`
          insert into read_model.cluster_snapshots (agent_id, content_hash, cluster, observed_at, stream_seq)
          select * from unnest(${b.latest.agent}::bigint[], ${b.latest.hash}::text[], ${b.latest.cluster}::jsonb[],
                               ${b.latest.observed}::timestamptz[], ${b.latest.seq}::bigint[])
          on conflict (agent_id) do update set content_hash = excluded.content_hash, cluster = excluded.cluster,
            observed_at = excluded.observed_at, stream_seq = excluded.stream_seq
          where read_model.cluster_snapshots.stream_seq < excluded.stream_seq`.execute(trx);
        await sql`
          insert into read_model.cluster_snapshot_history (agent_id, content_hash, cluster, observed_at, stream_seq)
          select * from unnest(${b.history.agent}::bigint[], ${b.history.hash}::text[], ${b.history.cluster}::jsonb[],
                               ${b.history.observed}::timestamptz[], ${b.history.seq}::bigint[])
          on conflict (agent_id, stream_seq) do nothing`.execute(trx);
        await sql`
          insert into read_model.cluster_addresses (agent_id, field, address)
          select * from unnest(${b.addresses.agent}::bigint[], ${b.addresses.field}::text[], ${b.addresses.address}::inet[])
          on conflict (agent_id, field, address) do nothing`.execute(trx);
        await sql`
          insert into read_model.audit_events
            (event_id, event_type, target_id, target_type, details, created_at, agent_id, stream, stream_seq)
          select i, t, g, 'Clusters::Agent', d, c, a, s, q
            from unnest(${b.audit.id}::text[], ${b.audit.type}::text[], ${b.audit.target}::bigint[], ${b.audit.details}::jsonb[],
                        ${b.audit.created}::timestamptz[], ${b.audit.agent}::bigint[], ${b.audit.stream}::text[],
                        ${b.audit.seq}::bigint[]) as u(i, t, g, d, c, a, s, q)
          on conflict (event_id) do nothing`.execute(trx);
        await sql`
          insert into read_model.projection_positions (consumer, stream, stream_seq) values (${CONSUMER}, ${stream}, ${b.lastSeq})
          on conflict (consumer) do update set stream_seq = excluded.stream_seq, updated_at = now()`.execute(
          trx,
        );
      });
    }
    return (performance.now() - started) / 1000;
  } finally {
    await db.destroy();
    await database.drop();
  }
}

type Expected = { history: number; latest: number; addresses: number; audit: number };

async function checkRows(db: Kysely<ReadModelDatabase>, expected: Expected): Promise<void> {
  const count = async (query: ReturnType<typeof sql<{ n: string }>>) =>
    Number((await query.execute(db)).rows[0]?.n ?? -1);
  const found: Expected = {
    history: await count(sql`select count(*) as n from read_model.cluster_snapshot_history`),
    latest: await count(sql`select count(*) as n from read_model.cluster_snapshots`),
    addresses: await count(sql`select count(*) as n from read_model.cluster_addresses`),
    audit: await count(
      sql`select count(*) as n from read_model.audit_events where event_type = ${AUDIT_EVENT_TYPES.clusterInfoChanged}`,
    ),
  };
  if (JSON.stringify(found) !== JSON.stringify(expected)) {
    throw new Error(`projection rows ${JSON.stringify(found)}, expected ${JSON.stringify(expected)}`);
  }
}

async function projectionRun(bus: Bus, registry: Stored[], lastSeq: number, expected: Expected) {
  const { database, db } = await migratedReadModelDatabase();
  try {
    for (const { event, meta } of registry)
      await projectMessage(db, bus.topology, "projection-registry", event, meta);
    const started = performance.now();
    const service = await startProjectionService({
      bus,
      databaseUrl: database.url,
      logger: createLogger("projection", "silent"),
    });
    let seconds = 0;
    try {
      await untilPosition(db, CONSUMER, lastSeq);
      seconds = (performance.now() - started) / 1000;
    } finally {
      await service.stop();
    }
    const dead = await bus.jsm.streams.info(bus.topology.streamNames.deadLetter);
    if (dead.state.messages > 0) throw new Error(`${dead.state.messages} events were dead-lettered`);
    await checkRows(db, expected);
    return seconds;
  } finally {
    await db.destroy();
    await database.drop();
  }
}

export async function runProjectionThroughputBench(): Promise<void> {
  process.env.DATABASE_URL ??= "postgres://postgres@127.0.0.1:5432/postgres";
  await withBenchStreams("projection-bench", async (bus) => {
    const registry = await publishRegistry(bus);
    const snapshots = await publishSnapshots(bus);
    const total = snapshots.length;
    const lastSeq = snapshots.at(-1)?.meta.seq ?? 0;
    const expected: Expected = {
      history: total,
      latest: AGENTS,
      addresses: Array.from({ length: AGENTS }, (_, i) => addressRowsFor(i + 1, factsAt(i + 1, VERSIONS - 1)))
        .map((rows) => rows.length)
        .reduce((a, b) => a + b, 0),
      audit: total,
    };
    const baseline = await rawBatchedUpsert(snapshots, bus.topology.streamNames.cluster);
    const projection = await projectionRun(bus, registry, lastSeq, expected);
    const rate = (seconds: number) => total / seconds;
    const addressRows = addressRowsFor(1, factsAt(1, 0)).length;
    console.log(
      `projection throughput (${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}; ` +
        `${total} snapshots of ${NODES}-node clusters (~${addressRows} address rows, ${REPLACED_PER_VERSION} nodes replaced per version), ${AGENTS} agents)`,
    );
    console.log(
      `  baseline raw batched upsert (unnest per table per ${BATCH}, no NATS): ${rate(baseline).toFixed(0)} events/s`,
    );
    console.log(`  projection service, stream to committed rows: ${rate(projection).toFixed(0)} events/s`);
    console.log(`  rows checked: ${JSON.stringify(expected)}; dead letters: 0`);
    printGoal({
      name: "projection-throughput",
      measured: baseline / projection,
      kind: "atLeast",
      bound: 0.5,
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await runProjectionThroughputBench();
  process.exit(0);
}
