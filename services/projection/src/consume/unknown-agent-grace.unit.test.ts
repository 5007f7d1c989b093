import { describe, expect, it } from "vitest";
import { UnknownAgentGrace } from "./unknown-agent-grace.ts";

const GRACE_MS = 10_000;

/** A grace on a clock the test moves (`clock.now`, ms). */
function graceAt(start: number, maxAgents?: number) {
  const clock = { now: start };
  const grace = new UnknownAgentGrace({
    graceMs: GRACE_MS,
    now: () => clock.now,
    ...(maxAgents === undefined ? {} : { maxAgents }),
  });
  return { clock, grace };
}

describe("UnknownAgentGrace", () => {
  it.each([
    { case: "a young event, the agent's first wait", firstWaitAgo: 0, age: 1_000, mayWait: true },
    { case: "a young event, the agent waiting for 9.9 s", firstWaitAgo: 9_900, age: 0, mayWait: true },
    { case: "a young event, the agent waiting for 10 s", firstWaitAgo: 10_000, age: 0, mayWait: false },
    { case: "a young event, the agent waiting for a minute", firstWaitAgo: 60_000, age: 0, mayWait: false },
    { case: "an old event, the agent's first wait", firstWaitAgo: 0, age: 10_000, mayWait: false },
  ])("$case: may wait $mayWait", ({ firstWaitAgo, age, mayWait }) => {
    const { clock, grace } = graceAt(1_000_000);
    grace.mayWait(7, new Date(clock.now));
    clock.now += firstWaitAgo;
    expect(grace.mayWait(7, new Date(clock.now - age))).toBe(mayWait);
  });

  it("counts from the agent's first wait, not from each event: a collector publishing every 2 s waits 10 s in all", () => {
    const { clock, grace } = graceAt(1_000_000);
    const answers: boolean[] = [];
    for (let i = 0; i < 10; i++) {
      answers.push(grace.mayWait(7, new Date(clock.now)));
      clock.now += 2_000;
    }
    expect(answers).toEqual([true, true, true, true, true, false, false, false, false, false]);
  });

  it("keeps each agent's grace apart, and starts afresh for an agent forgotten once known", () => {
    const { clock, grace } = graceAt(1_000_000);
    grace.mayWait(7, new Date(clock.now));
    clock.now += 8_000;
    expect(grace.mayWait(8, new Date(clock.now))).toBe(true);
    clock.now += 4_000;
    expect(grace.mayWait(7, new Date(clock.now))).toBe(false);
    expect(grace.mayWait(8, new Date(clock.now))).toBe(true);
    grace.forget(7);
    expect(grace.mayWait(7, new Date(clock.now))).toBe(true);
  });

  it("remembers at most maxAgents, forgetting the longest-known first", () => {
    const { clock, grace } = graceAt(1_000_000, 2);
    grace.mayWait(1, new Date(clock.now));
    grace.mayWait(2, new Date(clock.now));
    clock.now += GRACE_MS;
    grace.mayWait(3, new Date(clock.now));
    expect(grace.size).toBe(2);
    expect(grace.mayWait(2, new Date(clock.now))).toBe(false);
    // Agent 1 was forgotten for room: it gets a grace again.
    expect(grace.mayWait(1, new Date(clock.now))).toBe(true);
    expect(grace.size).toBe(2);
  });
});
