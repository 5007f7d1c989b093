import { backoffDelayMs, sleep } from "./backoff.ts";

/** What a start-up retry reports before it waits. */
export type StartRetry = {
  /** The dependency, e.g. "NATS" or "PostgreSQL". */
  dependency: string;
  /** 1 for the first failure. */
  attempt: number;
  /** How long until the next attempt, ms. */
  retryInMs: number;
  error: unknown;
};

/**
 * Runs `attempt` until it succeeds, waiting with exponential backoff and jitter between failures
 * (0.5 s doubling to 30 s) and calling `onRetry` before each wait, so a service started before
 * its NATS or PostgreSQL keeps trying and says so — instead of exiting into a crash loop or
 * hanging silently. `signal` (a shutdown) stops the loop with the last error.
 */
export async function retryAtStart<T>(
  dependency: string,
  attempt: () => Promise<T>,
  onRetry: (retry: StartRetry) => void,
  signal?: AbortSignal,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (signal?.aborted) throw error;
      const retryInMs = backoffDelayMs(n, 500, 30_000);
      onRetry({ dependency, attempt: n, retryInMs, error });
      await sleep(retryInMs, signal);
    }
  }
}

/** `onRetry` for `retryAtStart` that logs one warning per failed attempt, naming the wait. */
export function logStartRetry(logger: { warn(details: object, message: string): void }) {
  return ({ dependency, attempt, retryInMs, error }: StartRetry) =>
    logger.warn(
      { err: error, dependency, attempt, retry_in_ms: retryInMs },
      `${dependency} unreachable at start; retrying in ${(retryInMs / 1000).toFixed(1)} s`,
    );
}
