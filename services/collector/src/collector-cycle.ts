/**
 * When the collector derives and publishes, as a pure state machine. The shell (collector.ts)
 * owns the timers and the running derivation; every decision about them is made here.
 *
 * A burst of changes opens a coalescing window; when it closes a cycle derives until no change
 * is left, then publishes if the content hash changed. Changes during a cycle open a new window
 * and are derived by the running cycle once it loops. Until every source has answered (or the
 * settle timeout passed) a cycle derives nothing, so the first snapshot is never a partial one.
 */
export type CollectorCycleState = {
  /** `watching`: no cycle runs; `deriving`: a cycle runs; `stopped` is final. */
  phase: "watching" | "deriving" | "stopped";
  /** Changes wait for the coalescing window to close. */
  windowOpen: boolean;
  /** A change the running or next cycle has not derived yet. */
  pendingChange: boolean;
  /** The settle timeout passed: derive even though some sources never answered. */
  forced: boolean;
};

export type CollectorCycleEvent =
  /** A source changed, or a failed cycle's retry is due. */
  | { type: "change" }
  /** Some sources never answered within the settle timeout. */
  | { type: "settle-timeout" }
  | { type: "window-closed" }
  /** The running cycle asks what to do next. */
  | { type: "cycle-step"; sourcesSettled: boolean }
  /** The running cycle threw (publishing gave up); the shell retries later. */
  | { type: "cycle-failed" }
  | { type: "stop" };

/**
 * What the shell does after a transition: `open-window` starts the coalescing timer,
 * `start-cycle` starts a cycle, `derive` derives and publishes once then steps again,
 * `finish` ends the running cycle.
 */
export type CollectorCycleEffect = "none" | "open-window" | "start-cycle" | "derive" | "finish";

export type CollectorCycleTransition = { state: CollectorCycleState; effect: CollectorCycleEffect };

export const INITIAL_COLLECTOR_CYCLE: CollectorCycleState = {
  phase: "watching",
  windowOpen: false,
  pendingChange: false,
  forced: false,
};

function onChange(state: CollectorCycleState): CollectorCycleTransition {
  if (state.phase === "stopped") return { state, effect: "none" };
  const next = { ...state, pendingChange: true, windowOpen: true };
  return { state: next, effect: state.windowOpen ? "none" : "open-window" };
}

function onCycleStep(state: CollectorCycleState, sourcesSettled: boolean): CollectorCycleTransition {
  if (state.phase !== "deriving") return { state, effect: "finish" };
  if (state.pendingChange && (sourcesSettled || state.forced)) {
    return { state: { ...state, pendingChange: false }, effect: "derive" };
  }
  // A change before the sources settled is dropped: the settling source's answer is a change too.
  return { state: { ...state, phase: "watching", pendingChange: false }, effect: "finish" };
}

export function nextCollectorCycle(
  state: CollectorCycleState,
  event: CollectorCycleEvent,
): CollectorCycleTransition {
  switch (event.type) {
    case "change":
      return onChange(state);
    case "settle-timeout":
      return state.phase === "stopped" ? { state, effect: "none" } : onChange({ ...state, forced: true });
    case "window-closed": {
      if (state.phase === "stopped") return { state, effect: "none" };
      const next = { ...state, windowOpen: false };
      // A running cycle derives the waiting change when it loops.
      if (state.phase === "deriving") return { state: next, effect: "none" };
      return { state: { ...next, phase: "deriving" }, effect: "start-cycle" };
    }
    case "cycle-step":
      return onCycleStep(state, event.sourcesSettled);
    case "cycle-failed":
      return state.phase === "deriving"
        ? { state: { ...state, phase: "watching" }, effect: "none" }
        : { state, effect: "none" };
    case "stop":
      return { state: { ...state, phase: "stopped", windowOpen: false }, effect: "none" };
  }
}
