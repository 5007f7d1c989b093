import { DEAD_LETTER_HEADERS } from "@kasmap/bus";
import { DEAD_LETTER_HEAD_BYTES, DeadLetterRecordSchema, deadLetterStandsFor } from "@kasmap/contracts";
import { eventually } from "@kasmap/testing/harness";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_COLLECTOR_LIMITS,
  DEFAULT_DEAD_LETTER_HEAD_BYTES_PER_MINUTE,
  DEFAULT_DEAD_LETTERS_PER_MINUTE,
} from "../projection-env.ts";
import { projectionContextForFile } from "../testing/projection-context.ts";

/**
 * A collector's stolen credentials flooding large refused messages: every dead letter within the
 * agent's budget kept the message's 4 KiB head, ~0.9 GB a day of the dead-letter stream per
 * flooding agent. Now an agent's dead letters keep at most 16 KiB of heads a minute.
 */
const ctx = projectionContextForFile("projection-collector-dead-letter-heads-int-test", { running: true });

const ATTACKER = 41;
const BYSTANDER = 42;
const FLOOD = 150;
const LARGE = new Uint8Array(DEAD_LETTER_HEAD_BYTES).fill("{".charCodeAt(0));

describe("collector dead letters", () => {
  it("keep an agent's heads up to its bytes a minute and every reason, position and count; another agent's keep theirs", async () => {
    const attacker: number[] = [];
    const bystander: number[] = [];
    for (let i = 0; i < FLOOD; i++) {
      attacker.push((await ctx.bus.js.publish(ctx.topology.subjects.clusterSnapshot(ATTACKER), LARGE)).seq);
      if (i >= 120 && i < 123) {
        bystander.push(
          (await ctx.bus.js.publish(ctx.topology.subjects.clusterSnapshot(BYSTANDER), LARGE)).seq,
        );
      }
    }
    await ctx.caughtUp();
    const letters = await eventually(async () => {
      const found = (await ctx.deadLetters()).map((letter) => ({
        record: DeadLetterRecordSchema.parse(letter.json()),
        count: Number(letter.header.get(DEAD_LETTER_HEADERS.count)),
      }));
      const total = found.reduce((sum, letter) => sum + letter.count, 0);
      return total >= FLOOD + bystander.length ? found : undefined;
    }, "every refused message in a dead letter");
    const ofAgent = (agent: number) =>
      letters.filter(({ record }) => record.subject === ctx.topology.subjects.clusterSnapshot(agent));
    const headBytes = (head: string) => Buffer.from(head, "base64").byteLength;

    const flood = ofAgent(ATTACKER);
    // Counts stay exact: each refused message in exactly one dead letter.
    expect(flood.reduce((sum, letter) => sum + letter.count, 0)).toBe(FLOOD);
    const named = attacker.map(
      (seq) => flood.filter(({ record }) => deadLetterStandsFor(record, seq, `agent ${ATTACKER}`)).length,
    );
    expect(named).toEqual(attacker.map(() => 1));
    // The budget's own letters and the opening, in stream order; the first four keep heads.
    expect(flood.slice(0, DEFAULT_DEAD_LETTERS_PER_MINUTE + 1).map(({ record }) => record.seq)).toEqual(
      attacker.slice(0, DEFAULT_DEAD_LETTERS_PER_MINUTE + 1),
    );
    const kept = DEFAULT_DEAD_LETTER_HEAD_BYTES_PER_MINUTE / DEAD_LETTER_HEAD_BYTES;
    expect(flood.map(({ record }) => headBytes(record.head_base64))).toEqual(
      flood.map((_, i) => (i < kept ? DEAD_LETTER_HEAD_BYTES : 0)),
    );
    const limit = DEFAULT_COLLECTOR_LIMITS.snapshotsPerMinute;
    for (const [i, { record }] of flood.entries()) {
      if (i >= kept)
        expect(record).toMatchObject({ head_omitted: "budget", head_base64: "", truncated: true });
      else expect(record.head_omitted).toBeUndefined();
      expect(record).toMatchObject({ size: DEAD_LETTER_HEAD_BYTES, consumer: "projection-cluster" });
      // The reasons are kept: parsed and refused up to the rate limit, refused unparsed beyond.
      if (i < limit) expect(record.reason).toMatch(/^not JSON/);
      else
        expect(record.reason).toMatch(
          `agent ${ATTACKER} is over the rate limit of ${limit} snapshots per minute`,
        );
    }
    // Another agent's dead letters keep their heads.
    const calm = ofAgent(BYSTANDER);
    expect(calm.map(({ record }) => record.seq)).toEqual(bystander);
    expect(calm.map(({ record }) => headBytes(record.head_base64))).toEqual(
      bystander.map(() => DEAD_LETTER_HEAD_BYTES),
    );
  });
});
