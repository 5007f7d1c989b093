/**
 * Can one compromised collector make the projection fall behind? (issue 12's scale, issue 7.6's
 * attacker.) Whoever holds one cluster's NATS credentials may publish on that agent's subjects as
 * fast as the server takes it; nats-server 2.9 has no per-publisher quota. The projection refuses
 * what it must — messages that are not Kasmap events, snapshots beyond the agent's rate limit —
 * by dead-lettering them with their reason (each its own dead letter up to the agent's budget,
 * then one summary per minute). If it refuses slower than the attacker publishes, the backlog
 * grows for as long as the flood lasts, and every honest agent's snapshot in the same partition
 * waits behind it.
 *
 * Method: a fresh topology (random root) on NATS_URL / DATABASE_URL (or the local defaults), a
 * fresh read model; agents 1 (the attacker's) and 2 (honest) registered with active tokens.
 * - baseline, the attacker: FLOOD messages on agent 1's snapshot subject from one connection,
 *   PUBLISHING publishes in flight with their JetStream acks awaited (as a client publishes as
 *   fast as it can) — alternately bytes that are no Kasmap event and small valid snapshots — while
 *   the projection is stopped. Timed from the first publish to the last ack.
 * - subject, the projection service, started on that backlog with one honest snapshot of agent 2
 *   behind it, timed from its start until its cluster position shows the stream's last sequence
 *   (polled every 10 ms). Then checks every refused message is covered by exactly one dead
 *   letter (its own, or a summary's `seq_ranges` once the agent is over its dead-letter budget;
 *   the service stores its summaries when it stops)
 *   and no applied one is, the limit's worth of agent 1's snapshots applied, and agent 2's
 *   snapshot applied.
 * Each side runs ROUNDS times on a backlog of its own; the median of each is used.
 * Figures: messages/s of each side, and the projection's ratio to the attacker's. Goal: ≥ 1×
 * (the projection refuses a one-connection flood at least as fast as it arrives).
 *
 * Run: npx tsx bench/collector-flood.bench.ts (BENCH_FLOOD_MESSAGES, default 50,000)
 */
import { cpus } from "node:os";
import { pathToFileURL } from "node:url";
import { type Bus, publishEvent } from "@kasmap/bus";
import { DeadLetterRecordSchema, deadLetterStandsFor, type KasmapEvent } from "@kasmap/contracts";
import { createLogger } from "@kasmap/logging";
import { DEFAULT_COLLECTOR_LIMITS, startProjectionService } from "@kasmap/projection-service";
import { buildClusterFacts, testEvents } from "@kasmap/testing";
import { sql } from "kysely";
import { withBenchStreams } from "./support/bench-streams.ts";
import { printGoal } from "./support/goal.ts";
import { migratedReadModelDatabase, untilPosition } from "./support/read-model-database.ts";
import { median } from "./support/stats.ts";

const FLOOD = Number(process.env.BENCH_FLOOD_MESSAGES ?? 50_000);
const PUBLISHING = 64;
const ROUNDS = 3;
const CONSUMER = "projection-cluster";
const ATTACKER = 1;
const HONEST = 2;
const LIMIT = DEFAULT_COLLECTOR_LIMITS.snapshotsPerMinute;
/** The valid snapshots among the first LIMIT messages (every other one): those a round applies. */
const APPLIED = LIMIT / 2;
const NOT_AN_EVENT = new TextEncoder().encode('{"flood":true}');

/** The flood: every other message no Kasmap event, the rest small valid snapshots. */
function floodMessages(bus: Bus, round: number): Uint8Array[] {
  const e = testEvents(bus.topology);
  const encoder = new TextEncoder();
  return Array.from({ length: FLOOD }, (_, i) =>
    i % 2 === 0
      ? NOT_AN_EVENT
      : encoder.encode(
          JSON.stringify(e.snapshot(ATTACKER, buildClusterFacts({ cluster_name: `flood-${round}-${i}` }))),
        ),
  );
}

/**
 * Publishes `messages` on the attacker's snapshot subject as fast as one connection can: the
 * sequence each was stored at, in the order of `messages`.
 */
async function flood(bus: Bus, messages: readonly Uint8Array[]): Promise<number[]> {
  const subject = bus.topology.subjects.clusterSnapshot(ATTACKER);
  const seqs: number[] = new Array(messages.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: PUBLISHING }, async () => {
      while (next < messages.length) {
        const index = next++;
        seqs[index] = (await bus.js.publish(subject, messages[index] as Uint8Array)).seq;
      }
    }),
  );
  return seqs;
}

/**
 * The dead letters stored after `afterSeq` of the dead-letter stream: how many, and their bytes;
 * which of the attacker's messages (`attackerSeqs`, sorted) they name (a summary: its `seq`, and
 * the attacker's messages inside its `seq_ranges`) with how many times each; and the reasons of
 * any other subject's.
 */
async function deadLettersAfter(bus: Bus, afterSeq: number, attackerSeqs: readonly number[]) {
  const stream = bus.topology.streamNames.deadLetter;
  const attackerSubject = bus.topology.subjects.clusterSnapshot(ATTACKER);
  const found = {
    letters: 0,
    bytes: 0,
    covered: new Map<number, number>(),

    other: [] as string[],
    lastSeq: afterSeq,
  };
  const lastSeq = (await bus.jsm.streams.info(stream)).state.last_seq;
  if (lastSeq <= afterSeq) return found;
  const consumer = await bus.js.consumers.get(stream, { opt_start_seq: afterSeq + 1 });
  const messages = await consumer.consume();
  for await (const message of messages) {
    const record = DeadLetterRecordSchema.parse(message.json());
    found.letters += 1;
    found.bytes += message.data.byteLength + (message.headers?.toString().length ?? 0);
    if (record.subject !== attackerSubject) found.other.push(record.reason);
    else {
      const named = attackerSeqs.filter(
        (seq) => seq === record.seq || deadLetterStandsFor(record, seq, `agent ${ATTACKER}`),
      );
      for (const seq of named) found.covered.set(seq, (found.covered.get(seq) ?? 0) + 1);
    }
    found.lastSeq = message.seq;
    if (message.seq >= lastSeq) break;
  }
  await messages.close();
  return found;
}

export async function runCollectorFloodBench(): Promise<void> {
  process.env.DATABASE_URL ??= "postgres://postgres@127.0.0.1:5432/postgres";
  await withBenchStreams("collector-flood-bench", async (bus) => {
    const { database, db } = await migratedReadModelDatabase();
    try {
      const e = testEvents(bus.topology);
      for (const event of [
        e.agent(ATTACKER, 1),
        e.agentToken(ATTACKER, ATTACKER),
        e.agent(HONEST, 1),
        e.agentToken(HONEST, HONEST),
      ]) {
        await publishEvent(bus, event as KasmapEvent);
      }
      const start = () =>
        startProjectionService({
          bus,
          databaseUrl: database.url,
          logger: createLogger("projection", "silent"),
        });
      const attackerTimes: number[] = [];
      const projectionTimes: number[] = [];
      let deadLetterSeq = 0;
      const lettersStored: number[] = [];
      const letterBytes: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const messages = floodMessages(bus, round);
        const started = performance.now();
        const seqs = await flood(bus, messages);
        attackerTimes.push((performance.now() - started) / 1000);
        const honest = await publishEvent(
          bus,
          e.snapshot(HONEST, buildClusterFacts({ cluster_name: `calm-${round}` })),
        );
        const before = performance.now();
        const service = await start();
        try {
          await untilPosition(db, CONSUMER, honest.seq);
        } finally {
          await service.stop();
        }
        projectionTimes.push((performance.now() - before) / 1000);
        const letters = await deadLettersAfter(
          bus,
          deadLetterSeq,
          [...seqs].sort((a, b) => a - b),
        );
        deadLetterSeq = letters.lastSeq;
        lettersStored.push(letters.letters);
        letterBytes.push(letters.bytes);
        // Each round's service starts with empty windows (they live in memory): the first LIMIT
        // messages are within the agent's rate (every message on its subject counts), and of them
        // the valid snapshots apply; every other message is refused, each covered by exactly one
        // dead letter (its own, or a summary's).
        const refused = seqs.filter((_, i) => i % 2 === 0 || i >= LIMIT);
        const twice = [...letters.covered].filter(([, times]) => times > 1).length;
        const missing = refused.filter((seq) => !letters.covered.has(seq)).length;
        const extra = letters.covered.size - (refused.length - missing);
        if (missing > 0 || twice > 0 || extra > 0 || letters.other.length > 0) {
          throw new Error(
            `round ${round + 1}: of ${refused.length} refused messages ${missing} had no dead letter, ${twice} had two; ` +
              `${extra} applied messages had one; other subjects' dead letters: ${letters.other.slice(0, 3).join("; ")}`,
          );
        }
        const applied = await sql<{ n: string }>`
          select count(*) as n from read_model.cluster_snapshot_history where agent_id = ${ATTACKER}`.execute(
          db,
        );
        if (Number(applied.rows[0]?.n) !== APPLIED * (round + 1)) {
          throw new Error(
            `round ${round + 1}: ${applied.rows[0]?.n} snapshots of agent ${ATTACKER} applied, expected ${APPLIED * (round + 1)}`,
          );
        }
        const calm = await sql<{ name: string }>`
          select cluster->>'cluster_name' as name from read_model.cluster_snapshots where agent_id = ${HONEST}`.execute(
          db,
        );
        if (calm.rows[0]?.name !== `calm-${round}`)
          throw new Error(`round ${round + 1}: agent ${HONEST}'s snapshot was not applied`);
      }
      const [attacker, projection] = [median(attackerTimes), median(projectionTimes)];
      const rate = (seconds: number) => FLOOD / seconds;
      const rates = (times: number[]) => times.map((t) => rate(t).toFixed(0)).join(", ");
      console.log(
        `collector flood (${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}; ` +
          `${FLOOD} messages on one agent's snapshot subject, half no Kasmap event, half valid snapshots over the limit)`,
      );
      console.log(
        `  attacker, one connection, ${PUBLISHING} publishes in flight: ${rate(attacker).toFixed(0)} messages/s (median of ${ROUNDS}: ${rates(attackerTimes)})`,
      );
      console.log(
        `  projection service, backlog to position (every refused message dead-lettered): ${rate(projection).toFixed(0)} messages/s (median of ${ROUNDS}: ${rates(projectionTimes)}); ` +
          `dead letters stored per round: ${lettersStored.join(", ")} (${letterBytes.join(", ")} bytes of body and headers)`,
      );
      console.log(
        `  checked: every refused message in exactly one dead letter (its own or a summary), ${APPLIED} snapshots of agent ${ATTACKER} applied a round, agent ${HONEST}'s snapshot behind each flood applied`,
      );
      printGoal({ name: "collector-flood", measured: attacker / projection, kind: "atLeast", bound: 1 });
    } finally {
      await db.destroy();
      await database.drop();
    }
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await runCollectorFloodBench();
  process.exit(0);
}
