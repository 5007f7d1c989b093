import type { JsMsg } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { type DeadLetterBudget, type Letter, withinBudget } from "./dead-letter-budget.ts";

/** A refused message of `writer` (its subject) at `seq`. */
function letter(writer: string, seq: number, reason = `bad ${seq}`): Letter {
  return {
    message: {} as JsMsg,
    meta: { stream: "S", seq, subject: writer, deliveryCount: 1, storedAt: new Date(0), bytes: 1 },
    reason,
  };
}

/** Each writer gets `each` dead letters of its own, counted once per sequence; `open` none. */
function budget(each: number): DeadLetterBudget {
  const spent = new Map<string, Set<number>>();
  return {
    writerOf: (subject) => (subject === "open" ? undefined : subject),
    admit(meta) {
      const seqs = spent.get(meta.subject) ?? new Set();
      spent.set(meta.subject, seqs);
      if (seqs.has(meta.seq)) return true;
      if (seqs.size >= each) return false;
      seqs.add(meta.seq);
      return true;
    },
  };
}

describe("withinBudget", () => {
  it("without a budget, gives every refused message its own dead letter", () => {
    const letters = [letter("a", 1), letter("a", 2), letter("a", 3)];
    expect(withinBudget(letters, undefined)).toEqual(letters);
  });

  it("gives each writer its budget of own dead letters, then one summary in the place of its first message over it", () => {
    const letters = [1, 2, 3, 4, 5, 6, 7, 8].map((seq) => letter(seq % 2 === 0 ? "b" : "a", seq));
    const stored = withinBudget(letters, budget(2));
    expect(stored.map((l) => [l.meta.seq, l.moreSeqs ?? []])).toEqual([
      [1, []],
      [2, []],
      [3, []],
      [4, []],
      [5, [7]],
      [6, [8]],
    ]);
    const summary = stored.find((l) => l.meta.seq === 5);
    expect(summary?.reason).toBe(
      "2 messages of a refused beyond its dead-letter budget (this one and more_seqs); this one: bad 5",
    );
    // A message of its own keeps its own reason.
    expect(stored.find((l) => l.meta.seq === 3)?.reason).toBe("bad 3");
  });

  it("never summarizes a message without a writer", () => {
    const stored = withinBudget([letter("open", 1), letter("open", 2)], budget(0));
    expect(stored.map((l) => [l.meta.seq, l.moreSeqs])).toEqual([
      [1, undefined],
      [2, undefined],
    ]);
  });

  it("a writer's one message over its budget is its own dead letter, not a summary", () => {
    const stored = withinBudget([letter("a", 1), letter("a", 2)], budget(1));
    expect(stored.map((l) => [l.meta.seq, l.moreSeqs, l.reason])).toEqual([
      [1, undefined, "bad 1"],
      [2, undefined, "bad 2"],
    ]);
  });

  it("starts another summary past the most sequences one may list", () => {
    const letters = Array.from({ length: 2_503 }, (_, i) => letter("a", i + 1));
    const stored = withinBudget(letters, budget(0));
    expect(stored.map((l) => [l.meta.seq, l.moreSeqs?.length ?? 0])).toEqual([
      [1, 1000],
      [1002, 1000],
      [2003, 500],
    ]);
    expect(stored.flatMap((l) => [l.meta.seq, ...(l.moreSeqs ?? [])])).toEqual(
      letters.map((l) => l.meta.seq),
    );
  });

  it("answers the same for a batch read again (the budget decides by sequence)", () => {
    const shared = budget(3);
    const letters = [1, 2, 3, 4, 5, 6].map((seq) => letter("a", seq));
    const first = withinBudget(letters, shared);
    const again = withinBudget(letters, shared);
    expect(again.map((l) => [l.meta.seq, l.moreSeqs])).toEqual(first.map((l) => [l.meta.seq, l.moreSeqs]));
  });
});
