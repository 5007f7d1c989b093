import { DEAD_LETTER_HEADERS, DeadLetterRecordSchema } from "@kasmap/contracts";
import { agentDeadLetterBudget, buildClusterFacts, testEvents } from "@kasmap/testing";
import { eventually } from "@kasmap/testing/harness";
import { testWorldForFile } from "@kasmap/testing/world";
import { describe, expect, it } from "vitest";
import { type CheckpointedConsumerOptions, startCheckpointedConsumer } from "./checkpointed-consume.ts";
import { publishEvent } from "./publish.ts";

/**
 * A flood's dead letters cost a bounded amount per writer per minute, however many messages the
 * flood holds and however they fall into batches: the defect was a summary listing every
 * sequence (`more_seqs`, ~7 bytes a message) in one summary per batch, so the dead-letter stream
 * grew with the flood (~21 GB/day at 25,000 messages/s, filling a 20 GB JetStream store).
 */
const world = testWorldForFile({ name: "bus-dead-letter-summaries-int-test", database: false });

/** Own dead letters per writer; each writer's first `OWN` refused sequences get one. */
const OWN = 10;
/** What the dead letters of one flood (the `OWN`, an opening and its summary) may cost on disk. */
const FLOOD_BYTES_BOUND = 16 * 1024;
const ATTACKER = 7;
const HONEST = 8;
const NOT_JSON = new TextEncoder().encode("{");

/**
 * Publishes `count` bytes that are no event on the attacker's snapshot subject, 64 in flight,
 * with a valid snapshot of another agent after every 97th (interleaved, as a live stream is).
 * Answers the attacker's sequences and the honest ones'.
 */
async function flood(count: number): Promise<{ attacker: number[]; honest: number[] }> {
  const subject = world.topology.subjects.clusterSnapshot(ATTACKER);
  const events = testEvents(world.topology);
  const attacker: number[] = [];
  const honest: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < count) {
        const index = next++;
        attacker.push((await world.bus.js.publish(subject, NOT_JSON)).seq);
        if (index % 97 === 0) {
          const snapshot = events.snapshot(HONEST, buildClusterFacts({ cluster_name: `calm-${index}` }));
          honest.push((await publishEvent(world.bus, snapshot)).seq);
        }
      }
    }),
  );
  return { attacker: attacker.sort((a, b) => a - b), honest: honest.sort((a, b) => a - b) };
}

/**
 * Runs a checkpointed consumer on the cluster stream from `from` until it has committed `last`,
 * then stops it. Answers the sequences it applied.
 */
async function consume(
  name: string,
  from: number,
  last: number,
  options: Partial<CheckpointedConsumerOptions> = {},
): Promise<number[]> {
  let checkpoint = from - 1;
  const applied: number[] = [];
  const consumer = startCheckpointedConsumer(world.bus, {
    stream: "cluster",
    name,
    confirmWithLeader: false,
    deadLetterBudget: agentDeadLetterBudget(OWN),
    readCheckpoint: async () => checkpoint,
    async applyBatch(batch, lastSeq) {
      applied.push(...batch.map((e) => e.meta.seq));
      checkpoint = lastSeq;
    },
    ...options,
  });
  try {
    await eventually(() => (checkpoint >= last ? true : undefined), `${name} committed ${last}`, 60_000);
  } finally {
    await consumer.stop();
  }
  return applied;
}

/** The dead letters stored after `afterSeq`, each with its record and header count. */
async function deadLettersAfter(afterSeq: number) {
  const name = world.topology.streamNames.deadLetter;
  const last = (await world.bus.jsm.streams.info(name)).state.last_seq;
  const letters = [];
  for (let seq = afterSeq + 1; seq <= last; seq++) {
    const stored = await world.bus.jsm.streams.getMessage(name, { seq });
    if (!stored) continue;
    letters.push({
      record: DeadLetterRecordSchema.parse(stored.json()),
      count: Number(stored.header.get(DEAD_LETTER_HEADERS.count)),
    });
  }
  return letters;
}

type Letters = Awaited<ReturnType<typeof deadLettersAfter>>;

/**
 * How many dead letters name each of `mine` (the writer's sequences, sorted): a record names its
 * own `seq`, any `more_seqs`, and every sequence of the writer inside its `seq_ranges`.
 */
function timesNamed(letters: Letters, writer: string, mine: readonly number[]): Map<number, number> {
  const named = new Map<number, number>();
  const name = (seq: number) => named.set(seq, (named.get(seq) ?? 0) + 1);
  for (const { record } of letters) {
    name(record.seq);
    for (const seq of record.more_seqs ?? []) name(seq);
    if (record.writer !== writer) continue;
    for (const { first, last } of record.seq_ranges ?? []) {
      for (const seq of mine) if (seq >= first && seq <= last) name(seq);
    }
  }
  return named;
}

async function dlqBytes(): Promise<{ bytes: number; lastSeq: number }> {
  const state = (await world.bus.jsm.streams.info(world.topology.streamNames.deadLetter)).state;
  return { bytes: state.bytes, lastSeq: state.last_seq };
}

describe("a flood's dead letters", () => {
  it.each([1_000, 20_000])(
    "cost the same bounded bytes for %i refused messages of one writer, each still named by exactly one dead letter",
    async (count) => {
      const before = await dlqBytes();
      const { attacker, honest } = await flood(count);
      const last = Math.max(attacker.at(-1) ?? 0, honest.at(-1) ?? 0);
      const applied = await consume(`test-flood-${count}`, Math.min(attacker[0] ?? 0, honest[0] ?? 0), last);
      expect(applied).toEqual(honest);

      const after = await dlqBytes();
      const letters = await deadLettersAfter(before.lastSeq);
      expect(after.bytes - before.bytes).toBeLessThan(FLOOD_BYTES_BOUND);
      expect(letters.reduce((sum, l) => sum + l.count, 0)).toBe(count);
      const named = timesNamed(letters, `agent ${ATTACKER}`, attacker);
      expect(attacker.filter((seq) => named.get(seq) !== 1)).toEqual([]);
      expect(honest.filter((seq) => named.has(seq))).toEqual([]);
      const own = letters.filter((l) => l.count === 1);
      // The budget's own dead letters, then the one that opens the summary window.
      expect(own.map((l) => l.record.seq)).toEqual(attacker.slice(0, OWN + 1));
      expect(own.at(-1)?.record.reason).toMatch(
        /^agent 7 is over its dead-letter budget: .*; this one: not JSON/,
      );
      expect(letters.filter((l) => l.count > 1).map((l) => l.count)).toEqual([count - OWN - 1]);
    },
    120_000,
  );

  it("cost one summary, not a dead letter each, when every refused message comes in a batch of its own", async () => {
    const before = await dlqBytes();
    const { attacker, honest } = await flood(200);
    const last = Math.max(attacker.at(-1) ?? 0, honest.at(-1) ?? 0);
    await consume("test-flood-one-by-one", Math.min(attacker[0] ?? 0, honest[0] ?? 0), last, {
      maxBatch: 1,
    });
    const letters = await deadLettersAfter(before.lastSeq);
    expect(letters.map((l) => l.count)).toEqual([...Array<number>(OWN + 1).fill(1), 200 - OWN - 1]);
    expect(letters.at(-1)?.record.seq_ranges).toHaveLength(1);
  });

  it("stores the summary once the consumer has read nothing for a while, without a stop", async () => {
    const before = await dlqBytes();
    const { attacker } = await flood(50);
    let checkpoint = (attacker[0] ?? 1) - 1;
    const consumer = startCheckpointedConsumer(world.bus, {
      stream: "cluster",
      name: "test-flood-idle",
      confirmWithLeader: false,
      deadLetterBudget: agentDeadLetterBudget(OWN),
      readCheckpoint: async () => checkpoint,
      async applyBatch(_batch, lastSeq) {
        checkpoint = lastSeq;
      },
    });
    try {
      const letters = await eventually(async () => {
        const found = await deadLettersAfter(before.lastSeq);
        return found.reduce((sum, l) => sum + l.count, 0) === 50 ? found : undefined;
      }, "the flood's summary stored");
      expect(letters.map((l) => l.count)).toEqual([...Array<number>(OWN + 1).fill(1), 50 - OWN - 1]);
    } finally {
      await consumer.stop();
    }
  });
});
