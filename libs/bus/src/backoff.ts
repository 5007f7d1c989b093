/**
 * Exponential backoff with full jitter, in milliseconds: attempt 1 → up to `baseMs`,
 * doubling up to `maxMs`. Jitter spreads the retries of many replicas after a shared outage.
 */
export function backoffDelayMs(attempt: number, baseMs = 100, maxMs = 10_000, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener("abort", done);
      clearTimeout(timer);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
