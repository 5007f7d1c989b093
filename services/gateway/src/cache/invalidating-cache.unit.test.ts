import { describe, expect, it, vi } from "vitest";
import { InvalidatingCache, type InvalidatingCacheOptions } from "./invalidating-cache.ts";

function clock() {
  let now = 1_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function cacheOf<K extends string | number, V>(options: Partial<InvalidatingCacheOptions<K, V>> = {}) {
  return new InvalidatingCache<K, V>({
    name: "t",
    isEnabled: () => true,
    maxBytes: 1_000_000,
    ttlMs: 60_000,
    ...options,
  });
}

/** A load that resolves when `release()` is called. */
function gatedLoad<V>(value: V) {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const load = async () => {
    await gate;
    return value;
  };
  return { load, release: () => release() };
}

describe("InvalidatingCache", () => {
  it("serves the stored value until cleared", async () => {
    const cache = cacheOf<number, string>();
    let loads = 0;
    const load = async () => `v${++loads}`;
    expect(await cache.get(1, load)).toBe("v1");
    expect(await cache.get(1, load)).toBe("v1");
    cache.clear();
    expect(await cache.get(1, load)).toBe("v2");
  });

  it("drops only the key a notice names", async () => {
    const cache = cacheOf<number, string>();
    await cache.get(1, async () => "one");
    await cache.get(2, async () => "two");
    cache.dropKey(1);
    expect(await cache.get(1, async () => "one, changed")).toBe("one, changed");
    expect(await cache.get(2, async () => "two, changed")).toBe("two");
  });

  it("drops only the entries carrying a tag", async () => {
    const cache = cacheOf<string, { user: number }>({ tagsOf: (_key, value) => [`user:${value.user}`] });
    await cache.get("a", async () => ({ user: 5 }));
    await cache.get("b", async () => ({ user: 5 }));
    await cache.get("c", async () => ({ user: 6 }));
    cache.dropTag("user:5");
    expect(cache.size).toBe(1);
    expect(await cache.get("c", async () => ({ user: 0 }))).toEqual({ user: 6 });
  });

  it("does not store a value loaded across a clear (it may predate the change)", async () => {
    const cache = cacheOf<number, string>();
    const stale = gatedLoad("stale");
    const pending = cache.get(1, stale.load);
    cache.clear();
    stale.release();
    expect(await pending).toBe("stale");
    expect(await cache.get(1, async () => "fresh")).toBe("fresh");
  });

  it("does not store a value loaded across a drop of its key or one of its tags", async () => {
    const cache = cacheOf<number, string>({ tagsOf: () => ["group:3"] });
    const byKey = gatedLoad("stale");
    const pendingByKey = cache.get(1, byKey.load);
    cache.dropKey(1);
    byKey.release();
    await pendingByKey;
    const byTag = gatedLoad("stale");
    const pendingByTag = cache.get(2, byTag.load);
    cache.dropTag("group:3");
    byTag.release();
    await pendingByTag;
    expect(cache.size).toBe(0);
  });

  it("stores a value loaded across a drop of another key", async () => {
    const cache = cacheOf<number, string>();
    const loading = gatedLoad("kept");
    const pending = cache.get(1, loading.load);
    cache.dropKey(2);
    loading.release();
    await pending;
    expect(await cache.get(1, async () => "reloaded")).toBe("kept");
  });

  it("shares one load between concurrent callers", async () => {
    const cache = cacheOf<number, number>();
    let loads = 0;
    const load = async () => ++loads;
    const answers = await Promise.all([cache.get(1, load), cache.get(1, load), cache.get(1, load)]);
    expect(answers).toEqual([1, 1, 1]);
    expect(loads).toBe(1);
  });

  it("stores nothing while disabled", async () => {
    let enabled = false;
    const cache = cacheOf<number, string>({ isEnabled: () => enabled });
    await cache.get(1, async () => "a");
    expect(cache.size).toBe(0);
    enabled = true;
    await cache.get(1, async () => "b");
    expect(await cache.get(1, async () => "c")).toBe("b");
  });

  it("serves an entry at most ttlMs (the backstop for a lost notice)", async () => {
    const time = clock();
    const cache = cacheOf<number, string>({ ttlMs: 1_000, now: time.now });
    await cache.get(1, async () => "old");
    time.advance(999);
    expect(await cache.get(1, async () => "new")).toBe("old");
    time.advance(1);
    expect(await cache.get(1, async () => "new")).toBe("new");
  });

  it("holds at most maxBytes, evicting the oldest, and never stores a value beyond the bound", async () => {
    const cache = cacheOf<number, string>({ maxBytes: 2_000 });
    for (const key of [1, 2, 3, 4, 5]) await cache.get(key, async () => "x".repeat(600));
    expect(cache.bytes).toBeLessThanOrEqual(2_000);
    expect(cache.size).toBeLessThan(5);
    expect(await cache.get(1, async () => "reloaded")).toBe("reloaded");
    await cache.get(9, async () => "y".repeat(2_000));
    expect(await cache.get(9, async () => "small")).toBe("small");
  });

  it("with ttlJitter, shortens lifetimes by up to that fraction, never lengthens them", async () => {
    const time = clock();
    const cache = cacheOf<number, string>({ ttlMs: 1_000, ttlJitter: 0.25, now: time.now });
    const random = vi.spyOn(Math, "random");
    try {
      random.mockReturnValue(0.999_999);
      await cache.get(1, async () => "short");
      random.mockReturnValue(0);
      await cache.get(2, async () => "full");
    } finally {
      random.mockRestore();
    }
    time.advance(749);
    expect(await cache.get(1, async () => "reloaded")).toBe("short");
    time.advance(1);
    expect(await cache.get(1, async () => "reloaded")).toBe("reloaded");
    time.advance(249);
    expect(await cache.get(2, async () => "reloaded")).toBe("full");
    time.advance(1);
    expect(await cache.get(2, async () => "reloaded")).toBe("reloaded");
  });

  it("peek answers a fresh entry without loading, and nothing for a missing or expired one", async () => {
    const time = clock();
    const cache = cacheOf<number, string | null>({ ttlMs: 1_000, now: time.now });
    expect(cache.peek(1)).toBeUndefined();
    await cache.get(1, async () => null);
    expect(cache.peek(1)).toBeNull();
    time.advance(1_000);
    expect(cache.peek(1)).toBeUndefined();
  });

  it("refreshes an entry read past its refresh point in the background, still answering the old value", async () => {
    const time = clock();
    const cache = cacheOf<number, string>({ ttlMs: 1_000, refreshAhead: 0.75, now: time.now });
    await cache.get(1, async () => "v1");
    time.advance(749);
    expect(cache.peek(1)).toBe("v1");
    time.advance(1);
    // Due: peek hands the read to get, which answers the entry and reloads it.
    expect(cache.peek(1)).toBeUndefined();
    const reload = gatedLoad("v2");
    expect(await cache.get(1, reload.load)).toBe("v1");
    // While the reload is under way the entry is served, by peek too, and no second load starts.
    expect(cache.peek(1)).toBe("v1");
    expect(await cache.get(1, async () => "never")).toBe("v1");
    expect(cache.misses).toBe(1);
    reload.release();
    await vi.waitFor(() => expect(cache.peek(1)).toBe("v2"));
    // The reloaded entry has a lifetime of its own: served 999 ms after its reload.
    time.advance(999);
    expect(await cache.get(1, async () => "v3")).toBe("v2");
  });

  it("never serves an entry past its lifetime, and a notice during a refresh refuses the refreshed value", async () => {
    const time = clock();
    const cache = cacheOf<number, string>({ ttlMs: 1_000, refreshAhead: 0.75, now: time.now });
    await cache.get(1, async () => "v1");
    time.advance(800);
    const reload = gatedLoad("read before the change");
    expect(await cache.get(1, reload.load)).toBe("v1");
    cache.dropKey(1);
    reload.release();
    expect(await cache.get(1, async () => "after the change")).toBe("after the change");
    const failing = async (): Promise<string> => {
      throw new Error("PostgreSQL is down");
    };
    // Past its refresh point with a failing reload: served until it expires, then the error.
    time.advance(800);
    expect(await cache.get(1, failing)).toBe("after the change");
    time.advance(200);
    await expect(cache.get(1, failing)).rejects.toThrow("PostgreSQL is down");
  });

  it("refreshDue reloads, without a reader, the entries read since their load whose refresh time is near", async () => {
    const time = clock();
    const rows = new Map([
      [1, "one"],
      [2, "two"],
      [3, "three"],
    ]);
    const reloaded: number[] = [];
    const held: (string | undefined)[] = [];
    const cache = cacheOf<number, string>({
      ttlMs: 1_000,
      refreshAhead: 0.75,
      now: time.now,
      reload: async (key, stored) => {
        reloaded.push(key);
        held.push(stored);
        return rows.get(key) ?? "gone";
      },
    });
    for (const key of [1, 2, 3]) await cache.get(key, async () => rows.get(key) ?? "gone");
    const read = cache.peekEntry(1);
    await cache.get(2, async () => "unused");
    // Nothing is near its refresh time (750 ms after the load) yet.
    expect(cache.refreshDue(100)).toBe(0);
    time.advance(700);
    // 1 and 2 were read since they were loaded; 3 was not, and is left to expire.
    expect(cache.refreshDue(100)).toBe(2);
    await vi.waitFor(() => expect(reloaded).toEqual([1, 2]));
    // Each reload is handed the value the cache holds (to answer it back when unchanged).
    expect(held).toEqual(["one", "two"]);
    // The same row renews the entry: what was derived from it stays valid, for a new lifetime.
    await vi.waitFor(() => expect(read?.stamp.usableUntil).toBe(time.now() + 750));
    expect(read?.stamp.live).toBe(true);
    // Renewed entries count as unread again: with no read in their new lifetime, no reload.
    time.advance(700);
    expect(cache.refreshDue(100)).toBe(0);
    expect(cache.peek(1)).toBe("one");
    expect(cache.peek(3)).toBeUndefined();
  });

  it("refreshDue stores a changed row in place of the old one, and refuses a reload across a drop", async () => {
    const time = clock();
    let value = "v1";
    const gate = gatedLoad("read before the change");
    let gated = false;
    const cache = cacheOf<number, string>({
      ttlMs: 1_000,
      refreshAhead: 0.75,
      now: time.now,
      reload: (key) => (gated ? gate.load() : Promise.resolve(`${value} of ${key}`)),
    });
    await cache.get(1, async () => "v1 of 1");
    const stamp = cache.peekEntry(1)?.stamp;
    value = "v2";
    time.advance(700);
    expect(cache.refreshDue(100)).toBe(1);
    await vi.waitFor(() => expect(cache.peek(1)).toBe("v2 of 1"));
    expect(stamp?.live).toBe(false);
    cache.peek(1);
    gated = true;
    time.advance(700);
    expect(cache.refreshDue(100)).toBe(1);
    // A reload already under way is not started twice.
    expect(cache.refreshDue(100)).toBe(0);
    // The row changes and its notice drops the entry: the refresh begun before reads the old row
    // and is refused; the reload the drop starts reads the new one.
    value = "v3";
    gated = false;
    cache.dropKey(1);
    gate.release();
    await vi.waitFor(() => expect(cache.peek(1)).toBe("v3 of 1"));
    await new Promise((resolve) => setImmediate(resolve));
    expect(cache.peek(1)).toBe("v3 of 1");
  });

  it("refreshDue does nothing without a reload, or while disabled", async () => {
    const time = clock();
    let enabled = true;
    const reloads = { count: 0 };
    const withReload = cacheOf<number, string>({
      ttlMs: 1_000,
      refreshAhead: 0.75,
      now: time.now,
      isEnabled: () => enabled,
      reload: async () => {
        reloads.count += 1;
        return "again";
      },
    });
    const without = cacheOf<number, string>({ ttlMs: 1_000, refreshAhead: 0.75, now: time.now });
    for (const cache of [withReload, without]) {
      await cache.get(1, async () => "v");
      cache.peek(1);
    }
    time.advance(700);
    expect(without.refreshDue(100)).toBe(0);
    enabled = false;
    expect(withReload.refreshDue(100)).toBe(0);
    expect(reloads.count).toBe(0);
  });

  it("dropKey reloads at once an entry read since its load (not an unread one), storing the changed row", async () => {
    const rows = new Map([
      [1, "one"],
      [2, "two"],
    ]);
    const reloaded: number[] = [];
    const cache = cacheOf<number, string>({
      reload: async (key) => {
        reloaded.push(key);
        return rows.get(key) ?? "gone";
      },
    });
    for (const key of [1, 2]) await cache.get(key, async () => rows.get(key) ?? "gone");
    cache.peek(1);
    rows.set(1, "one, changed");
    rows.set(2, "two, changed");
    cache.dropKey(1);
    cache.dropKey(2);
    expect(reloaded).toEqual([1]);
    // The next reader shares the reload under way: no load of its own.
    expect(await cache.get(1, async () => "a load of its own")).toBe("one, changed");
    expect(cache.peek(1)).toBe("one, changed");
    expect(cache.peek(2)).toBeUndefined();
    // A second drop while that reload is in flight refuses its value.
    const gate = gatedLoad("read before the second change");
    let gated = true;
    const gatedCache = cacheOf<number, string>({
      reload: () => (gated ? gate.load() : Promise.resolve("after the second change")),
    });
    await gatedCache.get(1, async () => "v1");
    gatedCache.peek(1);
    gatedCache.dropKey(1);
    gated = false;
    gatedCache.dropKey(1);
    gate.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(gatedCache.peek(1)).toBeUndefined();
  });
});
