import { seededRandom } from "@kasmap/testing";
import { describe, expect, it } from "vitest";
import { canonicalJson, sameCanonicalJson } from "./canonical-json.ts";

describe("sameCanonicalJson", () => {
  it.each<[string, unknown, unknown, boolean]>([
    ["keys in another order", { a: 1, b: [1, { c: 2, d: null }] }, { b: [1, { d: null, c: 2 }], a: 1 }, true],
    ["a key whose value is undefined, and none", { a: 1, b: undefined }, { a: 1 }, true],
    ["null, and no key", { a: null }, {}, false],
    ["undefined and null as values", [undefined, null], [null, undefined], true],
    ["array order", [1, 2], [2, 1], false],
    ["an array and an object", [], {}, false],
    ["a string and its JSON", "1", 1, false],
    ["0 and -0", 0, -0, true],
    ["one more element", [1], [1, 1], false],
    ["one more key", { a: 1 }, { a: 1, b: 2 }, false],
  ])("%s", (_name, a, b, same) => {
    expect(canonicalJson(a) === canonicalJson(b)).toBe(same);
    expect(sameCanonicalJson(a, b)).toBe(same);
    expect(sameCanonicalJson(b, a)).toBe(same);
  });

  it("agrees with comparing canonicalJson texts on random values and their near copies", () => {
    const random = seededRandom(7);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
    const scalar = () => pick<unknown>([null, undefined, 0, 1, -1, 2.5, "", "a", "b", true, false]);
    const value = (depth: number): unknown => {
      const kind = depth === 0 ? 0 : Math.floor(random() * 3);
      if (kind === 0) return scalar();
      if (kind === 1) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth - 1));
      const keys = ["a", "b", "c", "d"].filter(() => random() < 0.6);
      return Object.fromEntries(keys.map((key) => [key, value(depth - 1)]));
    };
    // A copy with keys reordered, and now and then one change: a scalar replaced, a key added
    // or dropped (undefined or not), an element added.
    const nearCopy = (v: unknown): unknown => {
      if (random() < 0.05) return value(1);
      if (Array.isArray(v)) {
        const copy = v.map(nearCopy);
        if (random() < 0.05) copy.push(scalar());
        return copy;
      }
      if (v !== null && typeof v === "object") {
        const entries = Object.entries(v).map(([k, x]) => [k, nearCopy(x)] as [string, unknown]);
        entries.reverse();
        if (random() < 0.05) entries.push([pick(["a", "e"]), scalar()]);
        if (random() < 0.05) entries.shift();
        return Object.fromEntries(entries);
      }
      return v;
    };
    let same = 0;
    for (let i = 0; i < 5_000; i++) {
      const a = value(4);
      const b = random() < 0.8 ? nearCopy(a) : value(4);
      const expected = canonicalJson(a) === canonicalJson(b);
      if (expected) same += 1;
      expect(sameCanonicalJson(a, b), `${canonicalJson(a)} vs ${canonicalJson(b)}`).toBe(expected);
    }
    // Both answers are exercised.
    expect(same).toBeGreaterThan(500);
    expect(same).toBeLessThan(4_500);
  });
});
