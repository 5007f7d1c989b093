import { describe, expect, it } from "vitest";
import { InvalidatingCache } from "./invalidating-cache.ts";

describe("InvalidatingCache", () => {
  it("serves the stored value until cleared", async () => {
    const cache = new InvalidatingCache<number, string>("t", ["agents"], () => true);
    let loads = 0;
    const load = async () => `v${++loads}`;
    expect(await cache.get(1, load)).toBe("v1");
    expect(await cache.get(1, load)).toBe("v1");
    cache.clear();
    expect(await cache.get(1, load)).toBe("v2");
  });

  it("does not store a value loaded across a clear (it may predate the change)", async () => {
    const cache = new InvalidatingCache<number, string>("t", ["agents"], () => true);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const pending = cache.get(1, async () => {
      await gate;
      return "stale";
    });
    cache.clear();
    release();
    expect(await pending).toBe("stale");
    expect(await cache.get(1, async () => "fresh")).toBe("fresh");
  });

  it("stores nothing while disabled", async () => {
    let enabled = false;
    const cache = new InvalidatingCache<number, string>("t", ["agents"], () => enabled);
    await cache.get(1, async () => "a");
    expect(cache.size).toBe(0);
    enabled = true;
    await cache.get(1, async () => "b");
    expect(await cache.get(1, async () => "c")).toBe("b");
  });

  it("evicts the oldest entry beyond its bound", async () => {
    const cache = new InvalidatingCache<number, number>("t", [], () => true, 2);
    for (const k of [1, 2, 3]) await cache.get(k, async () => k);
    expect(cache.size).toBe(2);
    expect(await cache.get(1, async () => 10)).toBe(10);
  });
});
