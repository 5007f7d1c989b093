import { type PeriodicTask, startPeriodicTask } from "@kasmap/runtime";
import type { CommandDeps } from "./commands/command-deps.ts";
import { lapseUnconfirmedAgentTokens } from "./commands/gitlab-agent-tokens.ts";

/** The sweep runs at least this often, so a lapsed lease is acted on within it (ms). */
const MAX_SWEEP_INTERVAL_MS = 10_000;

/**
 * How often authz looks for GitLab agent token records whose lease passed: a quarter of the TTL
 * (a record is revoked at most a quarter TTL after its lease ended), between 250 ms and 10 s.
 */
export function lapseSweepIntervalMs(ttlSeconds: number): number {
  return Math.min(MAX_SWEEP_INTERVAL_MS, Math.max(250, (ttlSeconds * 1000) / 4));
}

/**
 * Runs `lapseUnconfirmedAgentTokens` every `intervalMs` until `stop()` (which waits for a sweep
 * under way). A failed sweep (database away) is logged and tried again at the next tick.
 */
export function startLapseSweep(deps: CommandDeps, intervalMs: number): PeriodicTask {
  return startPeriodicTask(async () => {
    await lapseUnconfirmedAgentTokens(deps).catch((error: unknown) =>
      deps.logger.error({ err: error }, "agent token lapse sweep failed; trying again"),
    );
  }, intervalMs);
}
