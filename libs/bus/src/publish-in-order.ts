import { EVENT_BINDINGS } from "@kasmap/contracts";
import { JetStreamApiError } from "@nats-io/jetstream";
import type { Bus } from "./bus.ts";
import { type EncodedEvent, type PublishedPosition, sendEncodedEvent } from "./publish.ts";

/** How many publishes `publishEventsInOrder` keeps awaiting their acks by default. */
export const DEFAULT_PUBLISH_WINDOW = 128;

/** JetStream's `10070 wrong last msg ID`: the stream's last message is not the one expected. */
const JS_WRONG_LAST_MSG_ID = 10070;

/** True for the refusal of a publish whose `Nats-Expected-Last-Msg-Id` was not the stream's last. */
export function isWrongLastMsgId(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === JS_WRONG_LAST_MSG_ID;
}

/** What became of one event of `publishEventsInOrder`. */
export type InOrderOutcome =
  | { kind: "acked"; position: PublishedPosition }
  | { kind: "failed"; error: unknown }
  /** Not sent: an earlier publish had failed. */
  | { kind: "unsent" };

/**
 * Publishes `events` in their order, keeping up to `window` publishes awaiting their acks at a
 * time instead of one (one round trip per window, not per event). Publishes on one connection
 * reach the server in call order; what keeps a stream's order when one of them fails while later
 * ones pass is the chain: each event after the first of its stream in this call carries
 * `Nats-Expected-Last-Msg-Id` = the id of the event before it on that stream, so the server
 * stores it only right behind that one and refuses it otherwise (`isWrongLastMsgId`). An event
 * acked is therefore in its stream after every earlier event of the call on that stream (an
 * earlier one whose ack was lost was stored; published again, the server drops it by its
 * `Nats-Msg-Id`, checked before the expectation, and answers with its sequence).
 *
 * After the first failure nothing more is sent; the publishes in flight are awaited. The
 * outcomes are in the order of `events`: the caller keeps what was acked and publishes the rest
 * again, from the first not acked, in a later call (where that one is first of its stream and
 * carries no expectation). A stream written by another publisher in between costs a refusal
 * and that later call, never an event out of order.
 */
export async function publishEventsInOrder(
  bus: Bus,
  events: readonly EncodedEvent[],
  options: { window?: number } = {},
): Promise<InOrderOutcome[]> {
  const window = Math.max(1, options.window ?? DEFAULT_PUBLISH_WINDOW);
  const outcomes: InOrderOutcome[] = events.map(() => ({ kind: "unsent" }));
  const lastIdOfStream = new Map<string, string>();
  const inFlight = new Set<Promise<void>>();
  let failed = false;
  for (const [index, encoded] of events.entries()) {
    if (failed) break;
    const stream = EVENT_BINDINGS[encoded.event.type].stream;
    const previous = lastIdOfStream.get(stream);
    lastIdOfStream.set(stream, encoded.event.id);
    const sent: Promise<void> = sendEncodedEvent(
      bus,
      encoded,
      previous === undefined ? {} : { lastMsgID: previous },
    )
      .then(
        (position) => {
          outcomes[index] = { kind: "acked", position };
        },
        (error: unknown) => {
          outcomes[index] = { kind: "failed", error };
          failed = true;
        },
      )
      .finally(() => inFlight.delete(sent));
    inFlight.add(sent);
    while (inFlight.size >= window) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return outcomes;
}
