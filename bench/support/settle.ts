import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";

/** The machine counts as quiet once this share of its CPU time was idle over a window. */
const QUIET_IDLE_SHARE = 0.85;
const WINDOW_MS = 500;
/** Quiet windows in a row that end the wait. */
const QUIET_WINDOWS = 2;

/** Idle and total CPU time of every CPU so far, in ticks (`/proc/stat`'s first line). */
function cpuTicks(): { idle: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is counted in user already).
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  const total = ticks.slice(0, 8).reduce((sum, tick) => sum + tick, 0);
  return { idle, total };
}

/** What `settleMachine` did before a bench. */
export type Settled = { checkpointMs: number; waitedMs: number; quiet: boolean; idleShare: number };

/**
 * Leaves the next bench a machine that the previous one no longer loads: asks PostgreSQL for a
 * `CHECKPOINT` (so the dirty pages of a bench that wrote millions of rows are written now, not by
 * the checkpointer in the middle of the next bench's timed runs), then waits until the CPUs were
 * ≥ 85 % idle for two half-second windows in a row (PostgreSQL's background work, a server still
 * shutting down), at most `maxWaitMs`. Each bench still measures its baseline in the same run;
 * this only keeps one bench's leftovers out of another's figures.
 */
export async function settleMachine(databaseUrl: string, maxWaitMs = 60_000): Promise<Settled> {
  const started = performance.now();
  const client = new pg.Client({ connectionString: databaseUrl, application_name: "kasmap-bench-settle" });
  try {
    await client.connect();
    await client.query("checkpoint");
  } finally {
    await client.end().catch(() => {});
  }
  const checkpointMs = performance.now() - started;
  let quietWindows = 0;
  let idleShare = 0;
  let before = cpuTicks();
  while (performance.now() - started < checkpointMs + maxWaitMs) {
    await sleep(WINDOW_MS);
    const now = cpuTicks();
    const total = now.total - before.total;
    idleShare = total > 0 ? (now.idle - before.idle) / total : 1;
    before = now;
    quietWindows = idleShare >= QUIET_IDLE_SHARE ? quietWindows + 1 : 0;
    if (quietWindows >= QUIET_WINDOWS) break;
  }
  return {
    checkpointMs,
    waitedMs: performance.now() - started - checkpointMs,
    quiet: quietWindows >= QUIET_WINDOWS,
    idleShare,
  };
}
