import { digestToken } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { createRefusedTokenCache } from "./refused-token-cache.ts";

/** The cache of `agent_token.authenticate` refusals: bounded in time and entries, by digest. */
describe("createRefusedTokenCache", () => {
  const digest = (n: number) => digestToken(`kmcol-bogus-${n}`);

  it("refuses a remembered digest until its TTL ends, then asks again", () => {
    let now = 1_000_000;
    const cache = createRefusedTokenCache({ ttlMs: 10_000, maxEntries: 10, now: () => now });
    expect(cache.refuses(digest(1))).toBe(false);
    cache.remember(digest(1));
    now += 9_999;
    expect(cache.refuses(digest(1))).toBe(true);
    now += 1;
    expect(cache.refuses(digest(1))).toBe(false);
    expect(cache.status()).toEqual({ entries: 0, hits: 1 });
  });

  it("keeps at most maxEntries, dropping the oldest", () => {
    const cache = createRefusedTokenCache({ ttlMs: 10_000, maxEntries: 3 });
    for (let n = 1; n <= 5; n++) cache.remember(digest(n));
    expect(cache.status().entries).toBe(3);
    expect([1, 2, 3, 4, 5].map((n) => cache.refuses(digest(n)))).toEqual([false, false, true, true, true]);
  });
});
