import { DEAD_LETTER_HEAD_BYTES, DEAD_LETTER_HEADERS, DeadLetterRecordSchema } from "@kasmap/contracts";
import { agentDeadLetterBudget } from "@kasmap/testing";
import { eventually } from "@kasmap/testing/harness";
import { testWorldForFile } from "@kasmap/testing/world";
import { describe, expect, it } from "vitest";
import { startCheckpointedConsumer } from "./checkpointed-consume.ts";
import type { DeadLetterBudget } from "./dead-letter-budget.ts";

/**
 * A flood of large refused messages costs a bounded amount of heads per writer a minute: the
 * defect was every dead letter within a writer's budget keeping its message's 4 KiB head (5.5 KiB
 * in base64), so one collector's stolen credentials flooding 4 KiB messages cost the dead-letter
 * stream ~0.9 GB a day (634,516 bytes a minute with the projection's budget of 100), kept for the
 * audit retention (400 days).
 */
const world = testWorldForFile({ name: "bus-dead-letter-head-budget-int-test", database: false });

/** Own dead letters per writer a minute: the projection's default. */
const OWN = 100;
/** Bytes of heads per writer a minute: the projection's default, four 4 KiB heads. */
const HEAD_BYTES = 16 * 1024;
const ATTACKER = 7;
const BYSTANDER = 8;
const FLOOD = 300;
/** Not JSON, and as large as a dead letter's head. */
const LARGE = new Uint8Array(DEAD_LETTER_HEAD_BYTES).fill("{".charCodeAt(0));

/**
 * `FLOOD` large messages that are no event on the attacker's snapshot subject, within a second,
 * and three on the bystander's once the attacker's heads are spent. Answers both's sequences.
 */
async function flood(): Promise<{ attacker: number[]; bystander: number[] }> {
  const attacker: number[] = [];
  const bystander: number[] = [];
  for (let i = 0; i < FLOOD; i++) {
    attacker.push((await world.bus.js.publish(world.topology.subjects.clusterSnapshot(ATTACKER), LARGE)).seq);
    if (i >= 150 && i < 153) {
      bystander.push(
        (await world.bus.js.publish(world.topology.subjects.clusterSnapshot(BYSTANDER), LARGE)).seq,
      );
    }
  }
  return { attacker, bystander };
}

/**
 * Consumes the cluster stream from `from` to `last` with the agent budget, then stops (storing
 * the summaries). Answers the dead letters it stored and the bytes they added to the stream.
 */
async function deadLetter(name: string, from: number, last: number, budget: DeadLetterBudget) {
  const stream = world.topology.streamNames.deadLetter;
  const before = (await world.bus.jsm.streams.info(stream)).state;
  let checkpoint = from - 1;
  const consumer = startCheckpointedConsumer(world.bus, {
    stream: "cluster",
    name,
    confirmWithLeader: false,
    deadLetterBudget: budget,
    readCheckpoint: async () => checkpoint,
    async applyBatch(_batch, lastSeq) {
      checkpoint = lastSeq;
    },
  });
  try {
    await eventually(() => (checkpoint >= last ? true : undefined), `${name} committed ${last}`, 60_000);
  } finally {
    await consumer.stop();
  }
  const after = (await world.bus.jsm.streams.info(stream)).state;
  const letters = [];
  for (let seq = before.last_seq + 1; seq <= after.last_seq; seq++) {
    const stored = await world.bus.jsm.streams.getMessage(stream, { seq });
    if (!stored) continue;
    letters.push({
      record: DeadLetterRecordSchema.parse(stored.json()),
      count: Number(stored.header.get(DEAD_LETTER_HEADERS.count)),
      reasonHeader: stored.header.get(DEAD_LETTER_HEADERS.reason),
    });
  }
  return { letters, bytes: after.bytes - before.bytes };
}

type Letters = Awaited<ReturnType<typeof deadLetter>>["letters"];

const headBytes = (letter: Letters[number]) => Buffer.from(letter.record.head_base64, "base64").byteLength;
const subjectOf = (agent: number) => world.topology.subjects.clusterSnapshot(agent);

describe("a flood of large refused messages", () => {
  it("keeps the heads of one writer's dead letters up to its bytes a minute, every letter's reason, position and count, and another writer's heads", async () => {
    const { attacker, bystander } = await flood();
    const first = attacker[0] ?? 1;
    const last = Math.max(attacker.at(-1) ?? 0, bystander.at(-1) ?? 0);

    // The same messages without a head budget (as before): the baseline, measured in this run.
    const unlimited = await deadLetter("test-heads-unlimited", first, last, agentDeadLetterBudget(OWN));
    const budgeted = await deadLetter(
      "test-heads-budgeted",
      first,
      last,
      agentDeadLetterBudget(OWN, HEAD_BYTES),
    );

    const ofAttacker = budgeted.letters.filter((l) => l.record.subject === subjectOf(ATTACKER));
    const ofBystander = budgeted.letters.filter((l) => l.record.subject === subjectOf(BYSTANDER));
    // Counts stay exact: the budget's own letters, an opening, one summary for the rest.
    expect(ofAttacker.reduce((sum, l) => sum + l.count, 0)).toBe(FLOOD);
    expect(ofAttacker.map((l) => l.count)).toEqual([...Array<number>(OWN + 1).fill(1), FLOOD - OWN - 1]);
    expect(ofAttacker.map((l) => l.record.seq)).toEqual(attacker.slice(0, OWN + 2));
    // The first four keep their whole head; every later one keeps none, and says why.
    const kept = HEAD_BYTES / DEAD_LETTER_HEAD_BYTES;
    expect(ofAttacker.map(headBytes)).toEqual(
      ofAttacker.map((_, i) => (i < kept ? DEAD_LETTER_HEAD_BYTES : 0)),
    );
    for (const { record, reasonHeader } of ofAttacker.slice(kept)) {
      expect(record).toMatchObject({ head_omitted: "budget", head_base64: "", truncated: true });
      expect(record).toMatchObject({ size: DEAD_LETTER_HEAD_BYTES, consumer: "test-heads-budgeted" });
      expect(record.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(record.reason).toMatch(/not JSON/);
      expect(reasonHeader).toBe(record.reason);
    }
    expect(ofAttacker.slice(0, kept).every(({ record }) => record.head_omitted === undefined)).toBe(true);
    // Another writer's dead letters keep their heads.
    expect(ofBystander.map((l) => l.record.seq)).toEqual(bystander);
    expect(ofBystander.map(headBytes)).toEqual(bystander.map(() => DEAD_LETTER_HEAD_BYTES));
    // The same letters as without the budget, but for their heads.
    const positions = (letters: Letters) => letters.map((l) => [l.record.seq, l.count, l.record.reason]);
    expect(positions(budgeted.letters)).toEqual(positions(unlimited.letters));

    // Bytes of the dead-letter stream for this minute's flood and the bystander's 3 letters:
    // 656,423 without the budget, 122,890 with it (the attacker's 4 heads and 98 letters of ~770
    // bytes; the bystander's 3 with heads, ~19 KB) — the attacker's share 6.3× smaller.
    expect(unlimited.bytes).toBeGreaterThan((OWN + 2) * 5 * 1024);
    expect(budgeted.bytes).toBeLessThan(140 * 1024);
    expect(budgeted.bytes * 4).toBeLessThan(unlimited.bytes);
  }, 120_000);
});
