import type { JsMsg } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import type { DeadLetterBudget, Letter, LetterToStore } from "./dead-letter-budget.ts";
import { DeadLetterSummaries } from "./dead-letter-summaries.ts";
import type { MessageMeta } from "./event-message.ts";

const WINDOW_MS = 60_000;

/** A message of `writer` (its subject) at `seq`, stored `atMs` after the epoch (default: `seq` ms). */
function meta(writer: string, seq: number, atMs = seq): MessageMeta {
  return { stream: "S", seq, subject: writer, deliveryCount: 1, storedAt: new Date(atMs), bytes: 1 };
}

function refuse(m: MessageMeta, reason = `bad ${m.seq}`): Letter {
  return { message: {} as JsMsg, meta: m, reason };
}

/** Each writer gets `each` dead letters of its own, counted once per sequence; `open` has no writer. */
function budget(each: number, headBytesPerMinute?: number): DeadLetterBudget {
  const spent = new Map<string, Set<number>>();
  return {
    writerOf: (subject) => (subject === "open" ? undefined : subject),
    admit(m) {
      const seqs = spent.get(m.subject) ?? new Set();
      spent.set(m.subject, seqs);
      if (seqs.has(m.seq)) return true;
      if (seqs.size >= each) return false;
      seqs.add(m.seq);
      return true;
    },
    ...(headBytesPerMinute === undefined ? {} : { headBytesPerMinute }),
  };
}

/** A batch in which every message is refused. */
function refusedBatch(summaries: DeadLetterSummaries, metas: MessageMeta[]): LetterToStore[] {
  return summaries.sortBatch(
    metas,
    metas.map((m) => refuse(m)),
    metas.at(-1)?.storedAt ?? new Date(0),
  );
}

/** What a stored letter is: its sequence, and its kind. */
function shape(letter: LetterToStore) {
  if (letter.summarized) return [letter.meta.seq, letter.summarized.count, letter.summarized.ranges];
  return [letter.meta.seq, letter.writer === undefined ? "own" : "opening"];
}

describe("DeadLetterSummaries", () => {
  it("gives each writer its budget of own dead letters, opens its window with the next, and holds the rest for one summary", () => {
    const summaries = new DeadLetterSummaries(budget(2));
    const metas = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((seq) => meta(seq % 2 === 0 ? "b" : "a", seq));
    expect(refusedBatch(summaries, metas).map(shape)).toEqual([
      [1, "own"],
      [2, "own"],
      [3, "own"],
      [4, "own"],
      [5, "opening"],
      [6, "opening"],
    ]);
    const opening = refusedBatch(new DeadLetterSummaries(budget(0)), [meta("a", 5)])[0];
    expect(opening?.reason).toBe(
      "a is over its dead-letter budget: its further refused messages until 1970-01-01T00:01:00.005Z " +
        "are summarized (seq_ranges); this one: bad 5",
    );
    expect(summaries.holdsSummaries).toBe(true);
    // a: 7 heads its summary, 9 is one range although b's 8 lies in between.
    const stored = summaries.closeWindows();
    expect(stored.map(shape)).toEqual([
      [7, 1, [{ first: 9, last: 9 }]],
      [8, 1, [{ first: 10, last: 10 }]],
    ]);
    expect(stored[0]?.reason).toBe(
      "2 messages of a refused beyond its dead-letter budget (this one and seq_ranges); this one: bad 7",
    );
    expect(summaries.holdsSummaries).toBe(false);
  });

  it("costs one opening and one summary of one range for a flood in batches of one message each", () => {
    const summaries = new DeadLetterSummaries(budget(0));
    const stored: LetterToStore[] = [];
    for (let seq = 1; seq <= 5_000; seq++) stored.push(...refusedBatch(summaries, [meta("a", seq)]));
    stored.push(...summaries.closeWindows());
    expect(stored.map(shape)).toEqual([
      [1, "opening"],
      [2, 4_998, [{ first: 3, last: 5_000 }]],
    ]);
  });

  it("starts another range after a message of the writer that is not summarized (applied, or its own dead letter)", () => {
    const summaries = new DeadLetterSummaries(budget(0));
    const applied = meta("a", 4);
    const stored = summaries.sortBatch(
      [meta("a", 1), meta("a", 2), meta("a", 3), applied, meta("a", 5), meta("open", 6), meta("a", 7)],
      [1, 2, 3, 5, 6, 7].map((seq) => refuse(meta(seq === 6 ? "open" : "a", seq))),
      new Date(7),
    );
    expect(stored.map(shape)).toEqual([
      [1, "opening"],
      [6, "own"],
    ]);
    expect(summaries.closeWindows().map(shape)).toEqual([
      [
        2,
        3,
        [
          { first: 3, last: 3 },
          { first: 5, last: 7 },
        ],
      ],
    ]);
  });

  it("stores the summary when a later message shows the window's end, and opens a new window with the writer's next", () => {
    const summaries = new DeadLetterSummaries(budget(0));
    expect(refusedBatch(summaries, [meta("a", 1, 0), meta("a", 2, 10), meta("a", 3, 20)]).map(shape)).toEqual(
      [[1, "opening"]],
    );
    // Another writer's message past the window's end stores a's summary.
    const stored = refusedBatch(summaries, [meta("b", 4, WINDOW_MS), meta("a", 5, WINDOW_MS + 1)]);
    expect(stored.map(shape)).toEqual([
      [2, 1, [{ first: 3, last: 3 }]],
      [4, "opening"],
      [5, "opening"],
    ]);
  });

  it("stores the summaries held when idle and keeps the window: no new opening until it ends", () => {
    const summaries = new DeadLetterSummaries(budget(0));
    refusedBatch(summaries, [meta("a", 1), meta("a", 2), meta("a", 3)]);
    expect(summaries.closeSummaries().map(shape)).toEqual([[2, 1, [{ first: 3, last: 3 }]]]);
    expect(summaries.holdsSummaries).toBe(false);
    expect(refusedBatch(summaries, [meta("a", 4)])).toEqual([]);
    // A summary of its head alone is that message's dead letter, naming the writer.
    expect(summaries.closeSummaries().map((l) => [l.meta.seq, l.writer, l.summarized, l.reason])).toEqual([
      [4, "a", undefined, "bad 4"],
    ]);
  });

  it("never summarizes a message without a writer", () => {
    const summaries = new DeadLetterSummaries(budget(0));
    expect(refusedBatch(summaries, [meta("open", 1), meta("open", 2)]).map(shape)).toEqual([
      [1, "own"],
      [2, "own"],
    ]);
    expect(summaries.holdsSummaries).toBe(false);
  });

  it("lists at most maxRanges ranges, the last one growing over the rest; the count stays exact", () => {
    const summaries = new DeadLetterSummaries(budget(0), { windowMs: WINDOW_MS, maxRanges: 3 });
    const metas = Array.from({ length: 20 }, (_, i) => meta("a", i + 1));
    // Every fourth message of the writer is applied, so every range is broken.
    const refused = metas.filter((m) => m.seq % 4 !== 0).map((m) => refuse(m));
    summaries.sortBatch(metas, refused, new Date(20));
    const [summary] = summaries.closeWindows();
    expect(summary?.summarized).toEqual({
      ranges: [
        { first: 3, last: 3 },
        { first: 5, last: 7 },
        { first: 9, last: 19 },
      ],
      count: refused.length - 2,
      exact: false,
    });
  });

  it("answers the letters whose store failed again with the next ones", () => {
    const summaries = new DeadLetterSummaries(budget(0));
    refusedBatch(summaries, [meta("a", 1), meta("a", 2), meta("a", 3)]);
    const failed = summaries.closeWindows();
    summaries.requeue(failed);
    expect(summaries.holdsSummaries).toBe(true);
    expect(refusedBatch(summaries, [meta("b", 4)]).map(shape)).toEqual([
      [2, 1, [{ first: 3, last: 3 }]],
      [4, "opening"],
    ]);
  });

  it("opens the same window again for a batch read again after a restart (the budget decides by sequence)", () => {
    const summaries = new DeadLetterSummaries(budget(2));
    const metas = [1, 2, 3, 4, 5].map((seq) => meta("a", seq));
    const first = refusedBatch(summaries, metas).map(shape);
    summaries.closeWindows();
    expect(refusedBatch(summaries, metas).map(shape)).toEqual(first);
  });

  it("keeps heads of each writer's dead letters (own, opening, summary) while its head bytes last, in stream order; never a writerless one's", () => {
    const summaries = new DeadLetterSummaries(budget(2, 10_000));
    // 4,000 bytes each: each writer's first two dead letters keep heads.
    const sized = (m: MessageMeta) => ({ ...m, bytes: 4_000 });
    const metas = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((seq) => sized(meta(seq % 3 === 0 ? "open" : "a", seq)));
    const stored = [...refusedBatch(summaries, metas), ...summaries.closeWindows()];
    const heads = stored.map((letter) => [...shape(letter), letter.headOmitted ?? "head"]);
    expect(heads).toEqual([
      [1, "own", "head"],
      [2, "own", "head"],
      [3, "own", "head"],
      [4, "opening", "budget"],
      [6, "own", "head"],
      [9, "own", "head"],
      [5, 2, [{ first: 7, last: 8 }], "budget"],
    ]);
    // b has its own bytes.
    const b = refusedBatch(summaries, [sized(meta("b", 10))]);
    expect(b.map((letter) => letter.headOmitted)).toEqual([undefined]);
  });

  it("keeps the head of a dead letter stored on its own (an event that could not be applied) only within its writer's head bytes", () => {
    const summaries = new DeadLetterSummaries(budget(100, 8_000));
    const sized = (writer: string, seq: number) => ({ ...meta(writer, seq), bytes: 4_000 });
    expect(summaries.withHead(refuse(sized("a", 1))).headOmitted).toBeUndefined();
    refusedBatch(summaries, [sized("a", 2)]);
    expect(summaries.withHead(refuse(sized("a", 3))).headOmitted).toBe("budget");
    expect(summaries.withHead(refuse(sized("open", 4))).headOmitted).toBeUndefined();
  });
});
