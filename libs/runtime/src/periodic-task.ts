/** A task `startPeriodicTask` runs until `stop()`. */
export type PeriodicTask = { stop(): Promise<void> };

/**
 * Runs `work` every `intervalMs` until `stop()`, which waits for a run under way. A tick while
 * the previous run still works is skipped (runs never overlap). `work` handles its own errors
 * (log and try again at the next tick); the timer does not keep the process alive.
 */
export function startPeriodicTask(work: () => Promise<void>, intervalMs: number): PeriodicTask {
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running !== null) return;
    running = work().finally(() => {
      running = null;
    });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
