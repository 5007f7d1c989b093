import { describe, expect, it } from "vitest";
import {
  type CollectorCycleEffect,
  type CollectorCycleEvent,
  type CollectorCycleState,
  INITIAL_COLLECTOR_CYCLE,
  nextCollectorCycle,
} from "./collector-cycle.ts";

const watching = INITIAL_COLLECTOR_CYCLE;
const coalescing: CollectorCycleState = { ...watching, windowOpen: true, pendingChange: true };
const deriving: CollectorCycleState = { ...watching, phase: "deriving", pendingChange: true };
const derivingDone: CollectorCycleState = { ...deriving, pendingChange: false };
const derivingWithWindow: CollectorCycleState = { ...deriving, windowOpen: true };
const stopped: CollectorCycleState = { ...watching, phase: "stopped" };

const settled = { type: "cycle-step", sourcesSettled: true } as const;
const unsettled = { type: "cycle-step", sourcesSettled: false } as const;

const transitions: {
  when: string;
  from: CollectorCycleState;
  event: CollectorCycleEvent;
  to: CollectorCycleState;
  effect: CollectorCycleEffect;
}[] = [
  {
    when: "a first change opens the window",
    from: watching,
    event: { type: "change" },
    to: coalescing,
    effect: "open-window",
  },
  {
    when: "more changes join the open window",
    from: coalescing,
    event: { type: "change" },
    to: coalescing,
    effect: "none",
  },
  {
    when: "the window closes: a cycle starts",
    from: coalescing,
    event: { type: "window-closed" },
    to: deriving,
    effect: "start-cycle",
  },
  {
    when: "the cycle derives the waiting change",
    from: deriving,
    event: settled,
    to: derivingDone,
    effect: "derive",
  },
  {
    when: "nothing left: the cycle ends",
    from: derivingDone,
    event: settled,
    to: watching,
    effect: "finish",
  },
  {
    when: "a change during a cycle opens a window and waits",
    from: derivingDone,
    event: { type: "change" },
    to: derivingWithWindow,
    effect: "open-window",
  },
  {
    when: "that window closing does not start a second cycle",
    from: derivingWithWindow,
    event: { type: "window-closed" },
    to: deriving,
    effect: "none",
  },
  {
    when: "the running cycle derives that change when it loops, even before the window closes",
    from: derivingWithWindow,
    event: settled,
    to: { ...derivingWithWindow, pendingChange: false },
    effect: "derive",
  },
  {
    when: "sources still silent: the cycle derives nothing (no partial first snapshot)",
    from: deriving,
    event: unsettled,
    to: watching,
    effect: "finish",
  },
  {
    when: "the settle timeout forces a derivation",
    from: watching,
    event: { type: "settle-timeout" },
    to: { ...coalescing, forced: true },
    effect: "open-window",
  },
  {
    when: "once forced, silent sources no longer hold derivations back",
    from: { ...deriving, forced: true },
    event: unsettled,
    to: { ...derivingDone, forced: true },
    effect: "derive",
  },
  {
    when: "a failed cycle ends; the waiting change stays for the retry",
    from: derivingWithWindow,
    event: { type: "cycle-failed" },
    to: { ...derivingWithWindow, phase: "watching" },
    effect: "none",
  },
  {
    when: "stop closes the window",
    from: coalescing,
    event: { type: "stop" },
    to: { ...coalescing, phase: "stopped", windowOpen: false },
    effect: "none",
  },
  {
    when: "a cycle running at stop derives no more",
    from: stopped,
    event: settled,
    to: stopped,
    effect: "finish",
  },
  {
    when: "changes after stop are ignored",
    from: stopped,
    event: { type: "change" },
    to: stopped,
    effect: "none",
  },
  {
    when: "the settle timeout after stop is ignored",
    from: stopped,
    event: { type: "settle-timeout" },
    to: stopped,
    effect: "none",
  },
  {
    when: "a window timer firing after stop is ignored",
    from: stopped,
    event: { type: "window-closed" },
    to: stopped,
    effect: "none",
  },
];

describe("the collector's derive-and-publish cycle", () => {
  it.each(transitions)("$when", ({ from, event, to, effect }) => {
    expect(nextCollectorCycle(from, event)).toEqual({ state: to, effect });
  });
});
