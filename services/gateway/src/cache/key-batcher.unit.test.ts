import { describe, expect, it } from "vitest";
import { KeyBatcher, KeyLoadFailed } from "./key-batcher.ts";

/** A batcher over a table of squares that records the keys of every `loadMany` call. */
function squares(options: { maxBatch?: number; fail?: (keys: readonly number[]) => boolean } = {}) {
  const calls: number[][] = [];
  const batcher = new KeyBatcher<number, number | null>(
    async (keys) => {
      calls.push([...keys]);
      if (options.fail?.(keys)) throw new Error(`no batch of ${keys.join(",")}`);
      return new Map(keys.filter((key) => key > 0).map((key) => [key, key * key]));
    },
    () => null,
    options.maxBatch,
  );
  return { batcher, calls };
}

describe("KeyBatcher", () => {
  it("loads the keys asked for in one turn with one call, each key once", async () => {
    const { batcher, calls } = squares();
    const answers = await Promise.all([batcher.load(2), batcher.load(3), batcher.load(2), batcher.load(4)]);
    expect(answers).toEqual([4, 9, 4, 16]);
    expect(calls).toEqual([[2, 3, 4]]);
  });

  it("answers a key the load does not find with the missing value", async () => {
    const { batcher } = squares();
    expect(await Promise.all([batcher.load(-1), batcher.load(5)])).toEqual([null, 25]);
  });

  it("makes a new call for keys asked for after a batch has gone", async () => {
    const { batcher, calls } = squares();
    expect(await batcher.load(2)).toBe(4);
    expect(await batcher.load(2)).toBe(4);
    expect(calls).toEqual([[2], [2]]);
  });

  it("splits a turn's keys into calls of at most maxBatch keys", async () => {
    const { batcher, calls } = squares({ maxBatch: 2 });
    const answers = await Promise.all([1, 2, 3, 4, 5].map((key) => batcher.load(key)));
    expect(answers).toEqual([1, 4, 9, 16, 25]);
    expect(calls).toEqual([[1, 2], [3, 4], [5]]);
  });

  it("rejects every key of a failed batch with its error, and only that batch's", async () => {
    const { batcher } = squares({ maxBatch: 2, fail: (keys) => keys.includes(3) });
    const settled = await Promise.allSettled([1, 2, 3, 4, 5].map((key) => batcher.load(key)));
    expect(settled.map((result) => result.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "rejected",
      "rejected",
      "fulfilled",
    ]);
    expect((settled[2] as PromiseRejectedResult).reason).toEqual(new Error("no batch of 3,4"));
  });

  it("rejects a key answered with KeyLoadFailed alone, the batch's other keys still loading", async () => {
    const batcher = new KeyBatcher<number, number>(
      async (keys) =>
        new Map(
          keys.map((key) => [key, key === 2 ? new KeyLoadFailed(new Error("row 2 does not parse")) : key]),
        ),
      () => 0,
    );
    const settled = await Promise.allSettled([
      batcher.load(1),
      batcher.load(2),
      batcher.load(2),
      batcher.load(3),
    ]);
    expect(
      settled.map((result) => (result.status === "fulfilled" ? result.value : String(result.reason))),
    ).toEqual([1, "Error: row 2 does not parse", "Error: row 2 does not parse", 3]);
  });

  it("rejects the batch when loadMany throws before returning a promise", async () => {
    const batcher = new KeyBatcher<number, number>(
      () => {
        throw new Error("bad keys");
      },
      () => 0,
    );
    await expect(batcher.load(1)).rejects.toThrow("bad keys");
  });

  it("refuses a batch size below one", () => {
    expect(
      () =>
        new KeyBatcher<number, number>(
          async () => new Map(),
          () => 0,
          0,
        ),
    ).toThrow(/maxBatch/);
  });
});
