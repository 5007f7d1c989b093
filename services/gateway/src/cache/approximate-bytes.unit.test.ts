import { describe, expect, it } from "vitest";
import { approximateBytes } from "./approximate-bytes.ts";

describe("approximateBytes", () => {
  it("counts Latin-1 text one byte a character, other text two", () => {
    expect(approximateBytes("a".repeat(1_000)) - approximateBytes("")).toBe(1_000);
    expect(approximateBytes("é".repeat(1_000)) - approximateBytes("")).toBe(1_000);
    expect(approximateBytes("€".repeat(1_000)) - approximateBytes("")).toBe(2_000);
  });

  it("grows with the contents of objects and arrays, keys included", () => {
    const small = approximateBytes({ ips: ["10.0.0.1"] });
    const large = approximateBytes({ ips: Array.from({ length: 100 }, (_, i) => `10.0.0.${i}`) });
    expect(large).toBeGreaterThan(small + 99 * 8);
    expect(approximateBytes({ a_long_key_name: 1 })).toBeGreaterThan(approximateBytes({ a: 1 }));
  });

  it("stops at a depth bound instead of walking a cycle forever", () => {
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    expect(approximateBytes(cyclic)).toBeGreaterThan(0);
  });
});
