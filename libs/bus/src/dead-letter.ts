import { DEAD_LETTER_HEADERS } from "@kasmap/contracts";
import { headers } from "@nats-io/nats-core";
import type { Bus } from "./bus.ts";

export type DeadLetter = {
  /** Stream the message came from. */
  stream: string;
  /** Its sequence in that stream. */
  seq: number;
  /** Its original subject. */
  subject: string;
  /** Durable consumer that rejected it. */
  consumer: string;
  /** Why it was rejected, for the operator. */
  reason: string;
  payload: Uint8Array;
};

// The names live in the contracts, where the AsyncAPI document describes them too.
export { DEAD_LETTER_HEADERS };

/**
 * Stores a rejected message on `<root>.dlq.<stream>` with the original bytes as the body and
 * the reason in headers. `Nats-Msg-Id` = `<stream>:<seq>:<consumer>`, so redelivering the same
 * bad message does not fill the dead-letter stream twice.
 */
export async function publishDeadLetter(bus: Bus, letter: DeadLetter): Promise<void> {
  const h = headers();
  // Header values must be one line; reasons from zod can span several.
  h.set(DEAD_LETTER_HEADERS.reason, letter.reason.replace(/[\r\n]+/g, " ").slice(0, 2000));
  h.set(DEAD_LETTER_HEADERS.stream, letter.stream);
  h.set(DEAD_LETTER_HEADERS.seq, String(letter.seq));
  h.set(DEAD_LETTER_HEADERS.subject, letter.subject);
  h.set(DEAD_LETTER_HEADERS.consumer, letter.consumer);
  await bus.js.publish(bus.topology.subjects.deadLetter(letter.stream), letter.payload, {
    msgID: `${letter.stream}:${letter.seq}:${letter.consumer}`,
    headers: h,
  });
}
