import { describe, expect, it } from "vitest";
import { DeadLetterHeadBudget } from "./dead-letter-head-budget.ts";

const KIB = 1024;
const WINDOW_MS = 60_000;
/** Server time `ms` after a fixed instant. */
const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms);

describe("DeadLetterHeadBudget", () => {
  it("keeps a writer's heads up to its bytes a window, whole or not at all", () => {
    const heads = new DeadLetterHeadBudget({ bytesPerWindow: 16 * KIB });
    const kept = [1, 2, 3, 4, 5, 6].map((seq) => heads.admit("agent 7", seq, at(seq), 4 * KIB));
    expect(kept).toEqual([true, true, true, true, false, false]);
    // A smaller head that would still fit is refused too: 16 KiB are spent.
    expect(heads.admit("agent 7", 7, at(7), 1)).toBe(false);
  });

  it.each([
    { what: "3 KiB heads: five fit in 16 KiB", bytes: 3 * KIB, kept: 5 },
    { what: "400-byte heads (heartbeats): forty fit", bytes: 400, kept: 40 },
    { what: "a budget of 0: none", bytes: 1, kept: 0, bytesPerWindow: 0 },
  ])("$what", ({ bytes, kept, bytesPerWindow = 16 * KIB }) => {
    const heads = new DeadLetterHeadBudget({ bytesPerWindow });
    const answers = Array.from({ length: 100 }, (_, i) => heads.admit("agent 7", i + 1, at(i), bytes));
    expect(answers.filter(Boolean)).toHaveLength(kept);
    expect(answers.indexOf(false)).toBe(kept);
  });

  it("always keeps an empty head: it costs nothing", () => {
    const heads = new DeadLetterHeadBudget({ bytesPerWindow: 0 });
    expect(heads.admit("agent 7", 1, at(0), 0)).toBe(true);
  });

  it("gives every writer its own bytes: one writer's flood leaves another's heads", () => {
    const heads = new DeadLetterHeadBudget({ bytesPerWindow: 8 * KIB });
    for (let seq = 1; seq <= 100; seq++) heads.admit("agent 7", seq, at(seq), 4 * KIB);
    expect(heads.admit("agent 8", 101, at(101), 4 * KIB)).toBe(true);
    expect(heads.admit("agent 8", 102, at(102), 4 * KIB)).toBe(true);
    expect(heads.admit("agent 8", 103, at(103), 4 * KIB)).toBe(false);
  });

  it("counts 60 s of server time: heads are kept again once the ones before left the window", () => {
    const heads = new DeadLetterHeadBudget({ bytesPerWindow: 8 * KIB });
    expect(heads.admit("agent 7", 1, at(0), 4 * KIB)).toBe(true);
    expect(heads.admit("agent 7", 2, at(30_000), 4 * KIB)).toBe(true);
    expect(heads.admit("agent 7", 3, at(WINDOW_MS - 1), 4 * KIB)).toBe(false);
    // seq 1 left the window; seq 2 is still in it.
    expect(heads.admit("agent 7", 4, at(WINDOW_MS), 4 * KIB)).toBe(true);
    expect(heads.admit("agent 7", 5, at(WINDOW_MS + 1), 4 * KIB)).toBe(false);
  });

  it("answers the same for sequences asked again (a batch read again after a restart)", () => {
    const heads = new DeadLetterHeadBudget({ bytesPerWindow: 8 * KIB });
    const first = [1, 2, 3, 4].map((seq) => heads.admit("agent 7", seq, at(seq), 4 * KIB));
    const again = [1, 2, 3, 4].map((seq) => heads.admit("agent 7", seq, at(seq), 4 * KIB));
    expect(first).toEqual([true, true, false, false]);
    expect(again).toEqual(first);
  });

  it("remembers a bounded number of writers: beyond, after forgetting the idle ones, a new writer's dead letters keep no head", () => {
    const heads = new DeadLetterHeadBudget({ bytesPerWindow: 8 * KIB, maxWriters: 3 });
    for (const [i, writer] of ["a", "b", "c"].entries()) {
      expect(heads.admit(writer, i + 1, at(i), KIB)).toBe(true);
    }
    expect(heads.admit("d", 4, at(10), KIB)).toBe(false);
    expect(heads.writerCount).toBe(3);
    // A window later a, b and c are idle: forgotten, so d gets room.
    expect(heads.admit("d", 5, at(WINDOW_MS + 10), KIB)).toBe(true);
    expect(heads.writerCount).toBe(1);
  });

  it("forgets the writers whose heads left the window, so memory follows the active ones", () => {
    const heads = new DeadLetterHeadBudget({ bytesPerWindow: 8 * KIB });
    for (let writer = 0; writer < 1000; writer++) heads.admit(`agent ${writer}`, writer + 1, at(writer), KIB);
    expect(heads.writerCount).toBe(1000);
    heads.admit("agent 0", 2000, at(2 * WINDOW_MS), KIB);
    expect(heads.writerCount).toBe(1);
  });
});
