/** The bounds of one lane of command serving (`serveCommands`). */
export type CommandLaneLimits = {
  /** Handlers of the lane running at once (each may hold one of the service's pooled connections). */
  maxInFlight: number;
  /** Requests received and not yet started; one more is answered `unavailable` at once. */
  maxWaiting: number;
  /** Bytes of the waiting requests' bodies, so waiting memory is bounded whatever they carry. */
  maxWaitingBytes: number;
};

/** A lane's state now (`rejected` counts since `serveCommands` started). */
export type CommandLaneStatus = { inFlight: number; waiting: number; waitingBytes: number; rejected: number };

/**
 * A bounded FIFO of requests with at most `maxInFlight` of them in `serve` at once: the semaphore
 * and the queue of one lane. `offer` starts the request, queues it, or answers false when the
 * queue is full (by count or bytes); the lane never holds more than its limits. `takeWaiting`
 * empties the queue (when serving stops, so the caller can answer each queued request).
 */
export function createCommandLane<T>(limits: CommandLaneLimits, serve: (item: T) => Promise<void>) {
  const waiting: { item: T; bytes: number }[] = [];
  let inFlight = 0;
  let waitingBytes = 0;
  let rejected = 0;

  function start(item: T): void {
    inFlight++;
    // `serve` answers its own failures; the lane only needs to know when it is done.
    void serve(item)
      .catch(() => {})
      .finally(() => {
        inFlight--;
        const next = waiting.shift();
        if (next) {
          waitingBytes -= next.bytes;
          start(next.item);
        }
      });
  }

  return {
    offer(item: T, bytes: number): boolean {
      if (inFlight < limits.maxInFlight && waiting.length === 0) {
        start(item);
        return true;
      }
      if (waiting.length >= limits.maxWaiting || waitingBytes + bytes > limits.maxWaitingBytes) {
        rejected++;
        return false;
      }
      waiting.push({ item, bytes });
      waitingBytes += bytes;
      return true;
    },
    takeWaiting(): T[] {
      waitingBytes = 0;
      return waiting.splice(0).map(({ item }) => item);
    },
    status(): CommandLaneStatus {
      return { inFlight, waiting: waiting.length, waitingBytes, rejected };
    },
  };
}
