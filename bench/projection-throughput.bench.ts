/**
 * How fast does the projection apply a backlog of cluster snapshots, next to the least any
 * consumer of the same stream must do?
 *
 * Method: a fresh topology (random root; streams from ensureStreams) and a fresh database on
 * NATS_URL / DATABASE_URL (or the local defaults). N = 5,000 snapshot events for 500 agents
 * (10 each, small facts) are published first, then, in the same run:
 * - baseline: an ordered consumer replays the cluster stream and only parses each message's
 *   JSON — the floor for any consumer of the stream;
 * - direct apply: `projectMessage` (one transaction per event with its position, as the
 *   consumer runs it) called in a loop on a second fresh database, without NATS — what the
 *   database work alone costs;
 * - subject: startProjectionService on the first database, timed from its start until
 *   `read_model.projection_positions` shows the stream's last sequence (polled every 10 ms).
 * Figures: events/s of each and the subject's ratio to the baseline. The service applies
 * batches (up to 500 messages in one transaction, libs/bus startCheckpointedConsumer), so it
 * can beat the one-transaction-per-event direct apply; the difference is printed per event.
 *
 * Run: npx tsx bench/projection-throughput.bench.ts
 */
import { randomBytes } from "node:crypto";
import { cpus } from "node:os";
import { pathToFileURL } from "node:url";
import { type Bus, connectBus, ensureStreams, type MessageMeta, publishEvent } from "@kasmap/bus";
import {
  type ClusterFacts,
  createTopology,
  EVENT_TYPES,
  type KasmapEvent,
  newKasmapEvent,
} from "@kasmap/contracts";
import { createDatabase, migrateReadModel, type ReadModelDatabase } from "@kasmap/db";
import { createLogger } from "@kasmap/logging";
import { projectMessage, startProjectionService } from "@kasmap/projection-service";
import { buildClusterFacts, testEvents } from "@kasmap/testing";
import { createTestDatabase, type TestDatabase } from "@kasmap/testing/harness";
import type { Kysely } from "kysely";
import { printGoal } from "./support/goal.ts";

const AGENTS = 500;
const VERSIONS = 10;
const CONSUMER = "projection-cluster";

function smallFacts(agentId: number, version: number): ClusterFacts {
  return buildClusterFacts({
    cluster_name: `cluster-${agentId}`,
    node_ips: { external: [], internal: [`10.${agentId % 250}.1.${1 + version}`] },
    node_count: 1 + version,
    observed_at: new Date(Date.UTC(2026, 0, 1, 0, version)).toISOString(),
  });
}

/**
 * The agents and their active tokens: the projection applies a collector's snapshots only for a
 * known agent with an active token (issue 7.6). Returned with their positions, so the direct
 * apply can put them in its database before the timed part.
 */
async function publishRegistry(bus: Bus): Promise<Array<{ event: KasmapEvent; meta: MessageMeta }>> {
  const e = testEvents(bus.topology);
  const published: Array<{ event: KasmapEvent; meta: MessageMeta }> = [];
  for (let agentId = 1; agentId <= AGENTS; agentId++) {
    for (const event of [e.agent(agentId, 1), e.agentToken(agentId, agentId)]) {
      const ack = await publishEvent(bus, event);
      const meta = { stream: ack.stream, seq: ack.seq, subject: event.subject, deliveryCount: 1 };
      published.push({ event, meta: { ...meta, storedAt: new Date(), bytes: 0 } });
    }
  }
  return published;
}

/** Version by version, all agents concurrently: each agent's snapshots stay in order. */
async function publishSnapshots(bus: Bus): Promise<number> {
  let lastSeq = 0;
  for (let version = 0; version < VERSIONS; version++) {
    const acks = await Promise.all(
      Array.from({ length: AGENTS }, (_, i) => {
        const agentId = i + 1;
        const cluster = smallFacts(agentId, version);
        return publishEvent(
          bus,
          newKasmapEvent({
            type: EVENT_TYPES.clusterSnapshot,
            source: "/kasmap/bench",
            subject: bus.topology.subjects.clusterSnapshot(agentId),
            data: { agent_id: agentId, content_hash: `${version}`.padStart(64, "0"), cluster },
          }),
        );
      }),
    );
    for (const ack of acks) lastSeq = Math.max(lastSeq, ack.seq);
  }
  return lastSeq;
}

/** Ordered-consumer replay that parses each message and keeps it (the direct apply reuses them). */
async function replayStream(bus: Bus, lastSeq: number) {
  const decoder = new TextDecoder();
  const events: Array<{ event: KasmapEvent; meta: MessageMeta }> = [];
  const consumer = await bus.js.consumers.get(bus.topology.streamNames.cluster);
  const started = performance.now();
  const messages = await consumer.consume();
  for await (const message of messages) {
    const event = JSON.parse(decoder.decode(message.data)) as KasmapEvent;
    events.push({
      event,
      meta: {
        stream: bus.topology.streamNames.cluster,
        seq: message.seq,
        subject: message.subject,
        deliveryCount: 1,
        storedAt: new Date(),
        bytes: 0,
      },
    });
    if (message.seq >= lastSeq) break;
  }
  const seconds = (performance.now() - started) / 1000;
  messages.stop();
  await consumer.delete().catch(() => {});
  return { seconds, events };
}

async function migratedDatabase(): Promise<{ database: TestDatabase; db: Kysely<ReadModelDatabase> }> {
  const database = await createTestDatabase();
  const db = createDatabase<ReadModelDatabase>({ url: database.url, max: 2 });
  await migrateReadModel(db);
  return { database, db };
}

async function directApply(
  registry: Array<{ event: KasmapEvent; meta: MessageMeta }>,
  events: Array<{ event: KasmapEvent; meta: MessageMeta }>,
): Promise<number> {
  const { database, db } = await migratedDatabase();
  try {
    for (const { event, meta } of registry) await projectMessage(db, "projection-registry", event, meta);
    const started = performance.now();
    for (const { event, meta } of events) await projectMessage(db, CONSUMER, event, meta);
    return (performance.now() - started) / 1000;
  } finally {
    await db.destroy();
    await database.drop();
  }
}

async function projectionRun(bus: Bus, lastSeq: number): Promise<number> {
  const { database, db } = await migratedDatabase();
  try {
    const started = performance.now();
    const service = await startProjectionService({
      bus,
      databaseUrl: database.url,
      logger: createLogger("projection", "silent"),
    });
    try {
      for (;;) {
        const row = await db
          .selectFrom("read_model.projection_positions")
          .select("stream_seq")
          .where("consumer", "=", CONSUMER)
          .executeTakeFirst();
        if (Number(row?.stream_seq ?? 0) >= lastSeq) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      return (performance.now() - started) / 1000;
    } finally {
      await service.stop();
    }
  } finally {
    await db.destroy();
    await database.drop();
  }
}

export async function runProjectionThroughputBench(): Promise<void> {
  process.env.NATS_URL ??= "nats://127.0.0.1:4222";
  process.env.DATABASE_URL ??= "postgres://postgres@127.0.0.1:5432/postgres";
  const topology = createTopology(`bench${randomBytes(4).toString("hex")}`);
  const bus = await connectBus({ url: process.env.NATS_URL, name: "projection-bench", topology });
  try {
    await ensureStreams(bus);
    const registry = await publishRegistry(bus);
    const lastSeq = await publishSnapshots(bus);
    const total = AGENTS * VERSIONS;
    const replay = await replayStream(bus, lastSeq);
    const direct = await directApply(registry, replay.events);
    const projection = await projectionRun(bus, lastSeq);
    const rate = (seconds: number) => total / seconds;
    console.log(
      `projection throughput (${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}; ${total} snapshots, ${AGENTS} agents)`,
    );
    console.log(`  baseline ordered replay + JSON.parse: ${rate(replay.seconds).toFixed(0)} events/s`);
    console.log(
      `  projectMessage alone (no NATS, one transaction each): ${rate(direct).toFixed(0)} events/s`,
    );
    console.log(`  projection service end to end: ${rate(projection).toFixed(0)} events/s`);
    console.log(
      `  ratio: projection ${(replay.seconds / projection).toFixed(3)}× of baseline; service minus one-transaction-per-event apply: ${(((projection - direct) / total) * 1000).toFixed(2)} ms/event`,
    );
    printGoal({
      name: "projection-throughput",
      measured: replay.seconds / projection,
      kind: "atLeast",
      bound: 0.5,
    });
  } finally {
    for (const stream of topology.streams) await bus.jsm.streams.delete(stream.name).catch(() => {});
    await bus.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await runProjectionThroughputBench();
  process.exit(0);
}
