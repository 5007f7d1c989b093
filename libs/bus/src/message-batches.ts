import type { JsMsg } from "@nats-io/jetstream";

const STOP = Symbol("stop");

/**
 * Groups a consumer's messages into batches. It keeps the read that is still outstanding: a
 * batch that ends on its deadline leaves a `next()` pending, and that read (never a second,
 * concurrent one) must deliver the first message of the next batch, or a message would be lost.
 */
export type MessageBatches = {
  /**
   * Waits for one message, then takes what else arrives within `maxWaitMs` (at most `maxBatch`
   * in all), in delivery order. Returns null once the iterator has ended or the signal aborted.
   */
  next(maxBatch: number, maxWaitMs: number): Promise<JsMsg[] | null>;
};

export function messageBatches(messages: AsyncIterable<JsMsg>, signal: AbortSignal): MessageBatches {
  const iterator = messages[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<JsMsg>> | null = null;
  // Races only against promises made for this batch: a race against a promise that never
  // settles would leave one reaction on it per message, for the consumer's whole life.
  const read = (stopped: Promise<typeof STOP>) => {
    pending ??= iterator.next();
    return Promise.race([pending, stopped]);
  };

  return {
    async next(maxBatch, maxWaitMs) {
      if (signal.aborted) return null;
      let stop: () => void = () => {};
      const stopped = new Promise<typeof STOP>((resolve) => {
        stop = () => resolve(STOP);
      });
      signal.addEventListener("abort", stop, { once: true });
      let timer: NodeJS.Timeout | undefined;
      try {
        const first = await read(stopped);
        if (first === STOP) return null;
        pending = null;
        if (first.done) return null;
        const batch = [first.value];
        timer = setTimeout(stop, maxWaitMs);
        while (batch.length < maxBatch) {
          const next = await read(stopped);
          if (next === STOP) break;
          pending = null;
          // The iterator ended (connection closed): apply what arrived; the next read says done.
          if (next.done) break;
          batch.push(next.value);
        }
        return batch;
      } finally {
        clearTimeout(timer);
        signal.removeEventListener("abort", stop);
      }
    },
  };
}
