import { describe, expect, it } from "vitest";
import { ExpiringCache } from "./expiring-cache.ts";

function clock() {
  let now = 1_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("ExpiringCache", () => {
  it("serves an entry until its TTL, then asks again (a grant ends at the TTL)", async () => {
    const time = clock();
    const cache = new ExpiringCache<string, string>(
      60_000,
      { maxEntries: 10, maxBytes: 1_000_000 },
      time.now,
    );
    expect(await cache.get("t", async () => "granted")).toBe("granted");
    time.advance(59_999);
    expect(await cache.get("t", async () => "revoked")).toBe("granted");
    time.advance(1);
    expect(await cache.get("t", async () => "revoked")).toBe("revoked");
  });

  it("keeps a denial for its whole TTL: a later grant does not widen it early", async () => {
    const time = clock();
    const cache = new ExpiringCache<string, boolean>(
      1_000,
      { maxEntries: 10, maxBytes: 1_000_000 },
      time.now,
    );
    expect(await cache.get("t", async () => false)).toBe(false);
    time.advance(999);
    expect(await cache.get("t", async () => true)).toBe(false);
  });

  it("stores nothing when the load fails (an outage is not an answer)", async () => {
    const cache = new ExpiringCache<string, string>(1_000, { maxEntries: 10, maxBytes: 1_000_000 });
    await expect(cache.get("t", () => Promise.reject(new Error("down")))).rejects.toThrow("down");
    expect(cache.size).toBe(0);
    expect(await cache.get("t", async () => "up")).toBe("up");
  });

  it("holds at most maxEntries, evicting the oldest", async () => {
    const cache = new ExpiringCache<number, number>(1_000, { maxEntries: 3, maxBytes: 1_000_000 });
    for (const key of [1, 2, 3, 4]) await cache.get(key, async () => key);
    expect(cache.size).toBe(3);
    expect(cache.peek(1)).toBeUndefined();
    expect(cache.peek(4)).toEqual(expect.objectContaining({ value: 4 }));
  });

  it("holds at most maxBytes, evicting the oldest, and refuses a value larger than the bound", async () => {
    const cache = new ExpiringCache<number, string>(1_000, { maxEntries: 100, maxBytes: 1_000 });
    for (const key of [1, 2, 3, 4]) await cache.get(key, async () => "x".repeat(300));
    expect(cache.bytes).toBeLessThanOrEqual(1_000);
    expect(cache.peek(1)).toBeUndefined();
    expect(cache.peek(4)).toEqual(expect.objectContaining({ value: "x".repeat(300) }));
    await cache.get(5, async () => "y".repeat(1_000));
    expect(cache.peek(5)).toBeUndefined();
  });

  it("shares one load between concurrent callers", async () => {
    const cache = new ExpiringCache<string, number>(1_000, { maxEntries: 10, maxBytes: 1_000_000 });
    let loads = 0;
    const load = async () => {
      loads += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return loads;
    };
    const answers = await Promise.all([cache.get("t", load), cache.get("t", load), cache.get("t", load)]);
    expect(answers).toEqual([1, 1, 1]);
    expect(loads).toBe(1);
  });
});
