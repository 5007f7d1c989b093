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
const derived: CollectorCycleState = { ...deriving, pendingChange: false };
const derivingWindowOpen: CollectorCycleState = { ...deriving, windowOpen: true };
const derivedWindowOpen: CollectorCycleState = { ...derivingWindowOpen, pendingChange: false };
const forcedCoalescing: CollectorCycleState = { ...coalescing, forced: true };
const forcedDeriving: CollectorCycleState = { ...deriving, forced: true };
const forcedDerived: CollectorCycleState = { ...derived, forced: true };
const failedWithChange: CollectorCycleState = { ...derivingWindowOpen, phase: "watching" };
const stoppedCoalescing: CollectorCycleState = { ...coalescing, phase: "stopped", windowOpen: false };
const stopped: CollectorCycleState = { ...watching, phase: "stopped" };

const change: CollectorCycleEvent = { type: "change" };
const settleTimeout: CollectorCycleEvent = { type: "settle-timeout" };
const windowClosed: CollectorCycleEvent = { type: "window-closed" };
const settledStep: CollectorCycleEvent = { type: "cycle-step", sourcesSettled: true };
const unsettledStep: CollectorCycleEvent = { type: "cycle-step", sourcesSettled: false };
const cycleFailed: CollectorCycleEvent = { type: "cycle-failed" };
const stop: CollectorCycleEvent = { type: "stop" };

type Transition = [
  when: string,
  from: CollectorCycleState,
  event: CollectorCycleEvent,
  to: CollectorCycleState,
  effect: CollectorCycleEffect,
];

const transitions: Transition[] = [
  ["a first change opens the window", watching, change, coalescing, "open-window"],
  ["more changes join the open window", coalescing, change, coalescing, "none"],
  ["the window closes: a cycle starts", coalescing, windowClosed, deriving, "start-cycle"],
  ["the cycle derives the waiting change", deriving, settledStep, derived, "derive"],
  ["nothing left: the cycle ends", derived, settledStep, watching, "finish"],
  ["a change during a cycle opens a window", derived, change, derivingWindowOpen, "open-window"],
  ["that window closing starts no second cycle", derivingWindowOpen, windowClosed, deriving, "none"],
  ["the cycle derives it when it loops", derivingWindowOpen, settledStep, derivedWindowOpen, "derive"],
  // No partial first snapshot: the silent source's first answer is a change of its own.
  ["sources still silent: nothing is derived", deriving, unsettledStep, watching, "finish"],
  ["the settle timeout forces a derivation", watching, settleTimeout, forcedCoalescing, "open-window"],
  ["once forced, silent sources hold nothing back", forcedDeriving, unsettledStep, forcedDerived, "derive"],
  ["a failed cycle keeps its change", derivingWindowOpen, cycleFailed, failedWithChange, "none"],
  ["stop closes the window", coalescing, stop, stoppedCoalescing, "none"],
  ["a cycle running at stop derives no more", stopped, settledStep, stopped, "finish"],
  ["changes after stop are ignored", stopped, change, stopped, "none"],
  ["the settle timeout after stop is ignored", stopped, settleTimeout, stopped, "none"],
  ["a window timer firing after stop is ignored", stopped, windowClosed, stopped, "none"],
];

describe("the collector's derive-and-publish cycle", () => {
  it.each(transitions)("%s", (_when, from, event, to, effect) => {
    expect(nextCollectorCycle(from, event)).toEqual({ state: to, effect });
  });
});
