import { createHash } from "node:crypto";
import {
  DEAD_LETTER_HEAD_BYTES,
  DEAD_LETTER_HEADERS,
  DEAD_LETTER_REASON_CHARS,
  DEAD_LETTER_SUBJECT_CHARS,
  type DeadLetterRecord,
} from "@kasmap/contracts";
import { headers } from "@nats-io/nats-core";
import type { Bus } from "./bus.ts";

export type DeadLetter = {
  /** Stream the message came from. */
  stream: string;
  /** Its sequence in that stream. */
  seq: number;
  /** Its original subject. */
  subject: string;
  /** Consumer that rejected it. */
  consumer: string;
  /** Why it was rejected, for the operator. */
  reason: string;
  /** When the server stored it (JetStream timestamp), if known. */
  storedAt?: Date;
  payload: Uint8Array;
  /**
   * A summary: the sequences of further messages rejected together with this one (a flood
   * beyond a writer's dead-letter budget), in stream order, at most `DEAD_LETTER_MORE_SEQS`.
   */
  moreSeqs?: readonly number[];
};

// The names live in the contracts, where the AsyncAPI document describes them too.
export { DEAD_LETTER_HEADERS };

/** One line (header values cannot span lines), at most `max` characters. */
function oneLine(text: string, max: number): string {
  return text.replace(/[\r\n]+/g, " ").slice(0, max);
}

/**
 * The bounded record of a rejected message: reason, position, digest and the first
 * `DEAD_LETTER_HEAD_BYTES` bytes — never the whole body, so it always fits in a message.
 */
export function deadLetterRecord(letter: DeadLetter): DeadLetterRecord {
  const head = letter.payload.subarray(0, DEAD_LETTER_HEAD_BYTES);
  return {
    reason: oneLine(letter.reason, DEAD_LETTER_REASON_CHARS),
    stream: letter.stream,
    seq: letter.seq,
    subject: letter.subject.slice(0, DEAD_LETTER_SUBJECT_CHARS),
    consumer: letter.consumer,
    stored_at: letter.storedAt?.toISOString() ?? null,
    size: letter.payload.byteLength,
    sha256: createHash("sha256").update(letter.payload).digest("hex"),
    head_base64: Buffer.from(head).toString("base64"),
    truncated: head.byteLength < letter.payload.byteLength,
    ...(letter.moreSeqs && letter.moreSeqs.length > 0 ? { more_seqs: [...letter.moreSeqs] } : {}),
  };
}

/** How many rejected messages a dead letter stands for. */
export function deadLetterCount(record: Pick<DeadLetterRecord, "more_seqs">): number {
  return 1 + (record.more_seqs?.length ?? 0);
}

/**
 * Stores a rejected message's bounded record (`deadLetterRecord`, JSON) on
 * `<root>.dlq.<stream>`, with the reason, position and count also in headers.
 * `Nats-Msg-Id` = `<stream>:<seq>:<consumer>`, so dead-lettering the same bad message again (a
 * restart before the checkpoint moved) does not fill the dead-letter stream twice; a summary's is
 * `<stream>:<seq>..<last of more_seqs>:<consumer>`, so that a summary is never taken for the
 * dead letter of its first message alone (the batches read again after a restart may group the
 * messages otherwise: then a message may be listed twice, never dropped).
 */
export async function publishDeadLetter(bus: Bus, letter: DeadLetter): Promise<void> {
  const record = deadLetterRecord(letter);
  const h = headers();
  h.set(DEAD_LETTER_HEADERS.reason, record.reason);
  h.set(DEAD_LETTER_HEADERS.stream, record.stream);
  h.set(DEAD_LETTER_HEADERS.seq, String(record.seq));
  h.set(DEAD_LETTER_HEADERS.subject, record.subject);
  h.set(DEAD_LETTER_HEADERS.consumer, record.consumer);
  h.set(DEAD_LETTER_HEADERS.count, String(deadLetterCount(record)));
  h.set("Content-Type", "application/json");
  const last = record.more_seqs?.at(-1);
  const position = last === undefined ? `${letter.seq}` : `${letter.seq}..${last}`;
  await bus.js.publish(bus.topology.subjects.deadLetter(letter.stream), JSON.stringify(record), {
    msgID: `${letter.stream}:${position}:${letter.consumer}`,
    headers: h,
  });
  for (const listener of deadLetterListeners.get(bus.nc) ?? []) listener(record);
}

/** Told of every dead letter stored through one connection: `publishDeadLetter`'s record. */
export type DeadLetterListener = (record: DeadLetterRecord) => void;

// Keyed by the connection, not the Bus object: callers may spread a Bus into a new object
// (another topology) and still publish through the same connection.
const deadLetterListeners = new WeakMap<Bus["nc"], Set<DeadLetterListener>>();

/**
 * Calls `listener` after each dead letter `publishDeadLetter` stored through `bus`'s connection
 * (for metrics: the dead letters a service wrote, wherever in its code). Returns the function
 * that removes the listener.
 */
export function observeDeadLetters(bus: Bus, listener: DeadLetterListener): () => void {
  let listeners = deadLetterListeners.get(bus.nc);
  if (!listeners) {
    listeners = new Set();
    deadLetterListeners.set(bus.nc, listeners);
  }
  listeners.add(listener);
  return () => listeners.delete(listener);
}
