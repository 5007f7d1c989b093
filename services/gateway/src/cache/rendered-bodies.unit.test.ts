import { describe, expect, it } from "vitest";
import type { Stamp } from "./invalidating-cache.ts";
import { RenderedBodies } from "./rendered-bodies.ts";

const memo = (options: { maxBytes?: number; isEnabled?: () => boolean } = {}) =>
  new RenderedBodies<number>({
    name: "t",
    isEnabled: options.isEnabled ?? (() => true),
    maxBytes: options.maxBytes ?? 1_000_000,
  });

/** A renderer counting its calls, valid until `validUntil`. */
function renderer(text: string, validUntil = Number.POSITIVE_INFINITY) {
  let calls = 0;
  return {
    render: () => {
      calls += 1;
      return { body: Buffer.from(`${text}#${calls}`), validUntil };
    },
    calls: () => calls,
  };
}

describe("RenderedBodies", () => {
  it("reuses a body while every part is the same object", () => {
    const bodies = memo();
    const parts = [{ agent: 1 }, { facts: 1 }];
    const r = renderer("a");
    expect(String(bodies.get(1, parts, 0, r.render))).toBe("a#1");
    expect(String(bodies.get(1, [...parts], 0, r.render))).toBe("a#1");
    expect(bodies.hits).toBe(1);
  });

  it("renders again when any part is another object, even an equal one", () => {
    const bodies = memo();
    const agent = { agent: 1 };
    const r = renderer("a");
    bodies.get(1, [agent, { facts: 1 }], 0, r.render);
    expect(String(bodies.get(1, [agent, { facts: 1 }], 0, r.render))).toBe("a#2");
  });

  it("renders again once the clock reaches validUntil", () => {
    const bodies = memo();
    const parts = [{}];
    const r = renderer("a", 100);
    bodies.get(1, parts, 0, r.render);
    expect(String(bodies.get(1, parts, 99, r.render))).toBe("a#1");
    expect(String(bodies.get(1, parts, 100, r.render))).toBe("a#2");
  });

  it("keys bodies apart and stores nothing while disabled", () => {
    let enabled = false;
    const bodies = memo({ isEnabled: () => enabled });
    const parts = [{}];
    const r = renderer("a");
    bodies.get(1, parts, 0, r.render);
    bodies.get(1, parts, 0, r.render);
    expect(r.calls()).toBe(2);
    enabled = true;
    bodies.get(1, parts, 0, r.render);
    bodies.get(2, parts, 0, r.render);
    expect(r.calls()).toBe(4);
    expect(bodies.size).toBe(2);
    bodies.clear();
    expect(bodies.size).toBe(0);
  });

  it("serves a body as current only while every part stamp given with it is live and usable", () => {
    const bodies = memo();
    const parts = [{ agent: 1 }, { facts: 1 }];
    const agent: Stamp = { live: true, usableUntil: 1_000 };
    const facts: Stamp = { live: true, usableUntil: 2_000 };
    const r = renderer("a", 5_000);
    bodies.get(1, parts, 0, r.render);
    // Stored without stamps (a route that loaded its parts): never current by itself.
    expect(bodies.current(1, 0)).toBeUndefined();
    // The same parts with their entries' stamps: no rendering, and current from then on.
    expect(String(bodies.get(1, parts, 0, r.render, [agent, facts]))).toBe("a#1");
    expect(String(bodies.current(1, 999))).toBe("a#1");
    expect(agent.read && facts.read).toBe(true);
    expect(bodies.current(2, 0)).toBeUndefined();
    // Past a part's usableUntil, or once a part's entry is replaced or dropped: not current.
    expect(bodies.current(1, 1_000)).toBeUndefined();
    facts.live = false;
    expect(bodies.current(1, 0)).toBeUndefined();
    expect(r.calls()).toBe(1);
  });

  it("never serves a body as current past its own validUntil", () => {
    const bodies = memo();
    const stamp: Stamp = { live: true, usableUntil: Number.POSITIVE_INFINITY };
    bodies.get(1, [{}], 0, renderer("a", 100).render, [stamp]);
    expect(String(bodies.current(1, 99))).toBe("a#1");
    expect(bodies.current(1, 100)).toBeUndefined();
  });

  it("holds at most maxBytes, evicting the oldest", () => {
    const bodies = memo({ maxBytes: 1_000 });
    const parts = [{}];
    for (const key of [1, 2, 3, 4, 5])
      bodies.get(key, parts, 0, () => ({ body: Buffer.alloc(300), validUntil: 1 }));
    expect(bodies.bytes).toBeLessThanOrEqual(1_000);
    expect(bodies.size).toBeLessThan(5);
    let rendered = false;
    bodies.get(5, parts, 0, () => {
      rendered = true;
      return { body: Buffer.alloc(300), validUntil: 1 };
    });
    expect(rendered).toBe(false);
  });
});
