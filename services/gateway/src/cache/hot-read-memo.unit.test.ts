import { describe, expect, it } from "vitest";
import { HotReadMemo } from "./hot-read-memo.ts";
import { InvalidatingCache, type Stamp } from "./invalidating-cache.ts";

const live = (usableUntil = Number.POSITIVE_INFINITY): Stamp => ({ live: true, usableUntil });

function memoOf(options: { maxBytes?: number; isEnabled?: () => boolean } = {}) {
  return new HotReadMemo<string>({
    name: "t",
    isEnabled: options.isEnabled ?? (() => true),
    maxBytes: options.maxBytes ?? 1_000_000,
  });
}

describe("HotReadMemo", () => {
  it("answers a remembered verdict while every stamp is live", () => {
    const memo = memoOf();
    const stamps = [live(), live()];
    memo.set("pat:a", 7, 1, "v", stamps);
    expect(memo.get("pat:a", 7, 1, 0)).toBe("v");
    expect(memo.get("pat:b", 7, 1, 0)).toBeUndefined();
    expect(memo.get("pat:a", 8, 1, 0)).toBeUndefined();
    // The same agent asked for within another project: not this verdict.
    expect(memo.get("pat:a", 7, 2, 0)).toBeUndefined();
    (stamps[1] as Stamp).live = false;
    expect(memo.get("pat:a", 7, 1, 0)).toBeUndefined();
    expect([memo.hits, memo.misses]).toEqual([1, 4]);
  });

  it("marks the entries behind a verdict it answers as read, so they are kept fresh without a reader", async () => {
    const reloaded: number[] = [];
    const cache = new InvalidatingCache<number, string>({
      name: "agents",
      isEnabled: () => true,
      maxBytes: 1_000_000,
      ttlMs: 60_000,
      refreshAhead: 0.75,
      reload: async (key) => {
        reloaded.push(key);
        return `agent ${key}`;
      },
    });
    await cache.get(7, async () => "agent 7");
    const entry = cache.peekEntry(7);
    const memo = memoOf();
    memo.set("pat:a", 7, 1, "v", [entry?.stamp as Stamp]);
    // A refresh renews the entry (the same row): read again only through the verdict.
    (entry?.stamp as Stamp).read = false;
    expect(cache.refreshDue(60_000)).toBe(0);
    expect(memo.get("pat:a", 7, 1, 0)).toBe("v");
    expect(cache.refreshDue(60_000)).toBe(1);
    expect(reloaded).toEqual([7]);
  });

  it("ends at the earliest usableUntil of its stamps, as they are when read", () => {
    const memo = memoOf();
    const renewed = live(5_000);
    memo.set("pat:a", 1, 1, "v", [renewed, live(9_000)]);
    expect(memo.get("pat:a", 1, 1, 4_999)).toBe("v");
    expect(memo.get("pat:a", 1, 1, 5_000)).toBeUndefined();
    renewed.usableUntil = 8_000;
    expect(memo.get("pat:a", 1, 1, 7_999)).toBe("v");
    expect(memo.get("pat:a", 1, 1, 8_000)).toBeUndefined();
  });

  it("remembers nothing while disabled or from a stamp already dead", () => {
    const disabled = memoOf({ isEnabled: () => false });
    disabled.set("pat:a", 1, 1, "v", [live()]);
    expect(disabled.get("pat:a", 1, 1, 0)).toBeUndefined();
    const memo = memoOf();
    memo.set("pat:a", 1, 1, "v", [live(), { live: false, usableUntil: Number.POSITIVE_INFINITY }]);
    expect(memo.get("pat:a", 1, 1, 0)).toBeUndefined();
    expect(memo.size).toBe(0);
  });

  it("stays within its bytes, evicting the callers remembered longest ago", () => {
    const memo = memoOf({ maxBytes: 2_000 });
    for (let caller = 0; caller < 20; caller++) {
      for (let id = 0; id < 3; id++) memo.set(`pat:${caller}`, id, 1, "v", [live(), live()]);
      expect(memo.bytes).toBeLessThanOrEqual(2_000);
    }
    expect(memo.get("pat:19", 2, 1, 0)).toBe("v");
    expect(memo.get("pat:0", 0, 1, 0)).toBeUndefined();
    // Replacing an answer does not grow the count.
    const before = memo.bytes;
    memo.set("pat:19", 2, 1, "w", [live(), live()]);
    expect(memo.bytes).toBe(before);
    memo.clear();
    expect([memo.size, memo.bytes]).toEqual([0, 0]);
  });
});

describe("stamps of cached entries", () => {
  const cacheOf = () =>
    new InvalidatingCache<number, string>({
      name: "t",
      isEnabled: () => true,
      maxBytes: 1_000_000,
      ttlMs: 60_000,
      refreshAhead: 0.75,
      now: () => 1_000,
    });

  it("die when the entry is dropped, replaced or cleared, and end at the refresh time", async () => {
    const cache = cacheOf();
    await cache.get(1, async () => "a");
    const first = cache.peekEntry(1)?.stamp as Stamp;
    expect(first).toEqual({ live: true, usableUntil: 1_000 + 45_000, read: true });
    cache.dropKey(1);
    expect(first.live).toBe(false);
    await cache.get(1, async () => "b");
    const second = cache.peekEntry(1)?.stamp as Stamp;
    cache.clear();
    expect(second.live).toBe(false);
  });

  it("live on, later, through a reload that finds the same value, and die with another", async () => {
    let now = 1_000;
    const cache = new InvalidatingCache<number, { rows: number[] }>({
      name: "t",
      isEnabled: () => true,
      maxBytes: 1_000_000,
      ttlMs: 60_000,
      refreshAhead: 0.75,
      now: () => now,
    });
    await cache.get(1, async () => ({ rows: [1, 2] }));
    const entry = cache.peekEntry(1);
    const stamp = entry?.stamp as Stamp;
    now += 50_000; // past the refresh time: the next get reloads in the background
    expect(await cache.get(1, async () => ({ rows: [1, 2] }))).toBe(entry?.value);
    await new Promise((resolve) => setImmediate(resolve));
    expect(cache.peekEntry(1)?.value).toBe(entry?.value);
    expect(stamp).toEqual({ live: true, usableUntil: now + 45_000, read: true });
    now += 50_000;
    await cache.get(1, async () => ({ rows: [1, 3] }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stamp.live).toBe(false);
    expect(cache.peekEntry(1)?.value).toEqual({ rows: [1, 3] });
  });
});
