import type { ConsumerMessages } from "@nats-io/jetstream";
import type { Bus } from "./bus.ts";

/**
 * Consumer notifications after which the pull may have stalled for good: the server no longer
 * has the consumer (or the stream), or its idle heartbeats stopped arriving.
 */
const STALLED = new Set(["heartbeats_missed", "consumer_deleted", "stream_not_found", "no_responders"]);

/**
 * Aborts `restart` when the connection comes back after a disconnect or the consumer reports a
 * stall. A reconnect to a restarted server finds the ephemeral consumer gone; left to the
 * client's own re-creation, the pull stayed silent for 30 s and more after nats-server restarts
 * (test/e2e/resilience.e2e.test.ts). Starting again from the stored checkpoint is always
 * correct and costs one consumer creation. Returns the function that ends the watch.
 */
export function restartOnReconnectOrStall(
  bus: Bus,
  messages: ConsumerMessages,
  restart: AbortController,
): () => void {
  const connection = bus.nc.status();
  void (async () => {
    for await (const status of connection) {
      if (status.type === "reconnect") restart.abort();
    }
  })().catch(() => {});
  void (async () => {
    // Ends when the messages are stopped.
    for await (const notification of messages.status()) {
      if (STALLED.has(notification.type)) restart.abort();
    }
  })().catch(() => {});
  return () => stopIterator(connection);
}

/** `status()` is typed as a plain AsyncIterable; its implementation can be stopped. */
function stopIterator(iterator: unknown): void {
  if (typeof iterator === "object" && iterator !== null && "stop" in iterator) {
    const stop = iterator.stop;
    if (typeof stop === "function") stop.call(iterator);
  }
}

/**
 * What the consume loop has reached: the last stream sequence it took, when it last took or
 * finished a batch, and how many batches it is working on (preparing the next while applying one).
 */
export type ConsumeProgress = { seq: number; at: number; busy: number };

/**
 * Aborts `restart` when the pull has delivered nothing for `idleMs` while the stream holds
 * messages past `progress.seq`. Seen on a 3-node cluster after the stream leader was killed and
 * its server started again (nats-server 2.9.10, test/e2e/nats-cluster-failover.e2e.test.ts): the
 * ordered consumer kept its heartbeats but never delivered the stream's last few messages, so no
 * stall was reported and the projection stayed behind. Starting again from the checkpoint reads
 * them. A loop busy preparing or applying a batch is not idle. Returns the function that ends the watch.
 */
export function restartWhenIdleBehind(
  bus: Bus,
  streamName: string,
  progress: ConsumeProgress,
  restart: AbortController,
  idleMs = 10_000,
): () => void {
  let checking = false;
  const timer = setInterval(
    () => {
      if (checking || progress.busy > 0 || Date.now() - progress.at < idleMs || restart.signal.aborted)
        return;
      checking = true;
      bus.jsm.streams
        .info(streamName)
        .then((info) => {
          if (
            progress.busy === 0 &&
            Date.now() - progress.at >= idleMs &&
            info.state.last_seq > progress.seq
          ) {
            restart.abort();
          }
        })
        .catch(() => {})
        .finally(() => {
          checking = false;
        });
    },
    Math.max(250, Math.floor(idleMs / 2)),
  );
  timer.unref();
  return () => clearInterval(timer);
}
