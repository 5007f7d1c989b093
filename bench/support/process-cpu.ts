import { readFileSync } from "node:fs";

/** Linux's clock ticks per second for /proc times (USER_HZ, 100 on every mainstream build). */
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds (user + system) process `pid` has used so far, from `/proc/<pid>/stat` (fields 14
 * and 15, after the parenthesised command name). All threads of the process count.
 */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Runs `work` and returns its result with the CPU seconds each of `pids` used meanwhile. */
export async function withProcessCpu<T>(
  pids: readonly number[],
  work: () => Promise<T>,
): Promise<{ result: T; cpuSeconds: number[] }> {
  const before = pids.map(processCpuSeconds);
  const result = await work();
  return { result, cpuSeconds: pids.map((pid, i) => processCpuSeconds(pid) - (before[i] ?? 0)) };
}
