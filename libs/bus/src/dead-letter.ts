import { createHash } from "node:crypto";
import {
  DEAD_LETTER_HEAD_BYTES,
  DEAD_LETTER_HEADERS,
  DEAD_LETTER_REASON_CHARS,
  DEAD_LETTER_SUBJECT_CHARS,
  type DeadLetterHeadOmission,
  type DeadLetterRecord,
  type DeadLetterSeqRange,
  deadLetterCount,
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
   * The writer over its dead-letter budget (`DeadLetterBudget.writerOf`), on a summary and on
   * the dead letter that opens the writer's summary window.
   */
  writer?: string;
  /** A summary: the further messages of `writer` it stands for besides this one (a flood). */
  summarized?: SummarizedMessages;
  /** Why the record keeps no head of `payload` (`head_omitted`); undefined: it keeps one. */
  headOmitted?: DeadLetterHeadOmission;
};

/** The further messages a summary dead letter stands for, besides its first (`DeadLetter.seq`). */
export type SummarizedMessages = {
  /**
   * In stream order, at most `DEAD_LETTER_SEQ_RANGES`: each range is every message of the writer
   * that the consumer read in it (other writers' messages in between are not part of it).
   */
  ranges: readonly DeadLetterSeqRange[];
  /** How many messages the ranges stand for. */
  count: number;
  /** False when the last range also spans messages of the writer that are not summarized. */
  exact: boolean;
};

// The names live in the contracts, where the AsyncAPI document describes them too.
export { DEAD_LETTER_HEADERS, deadLetterCount };

/** One line (header values cannot span lines), at most `max` characters. */
function oneLine(text: string, max: number): string {
  return text.replace(/[\r\n]+/g, " ").slice(0, max);
}

/**
 * The bounded record of a rejected message: reason, position, digest and the first
 * `DEAD_LETTER_HEAD_BYTES` bytes (none with `headOmitted`) — never the whole body, so it always
 * fits in a message.
 */
export function deadLetterRecord(letter: DeadLetter): DeadLetterRecord {
  const head = letter.payload.subarray(0, letter.headOmitted === undefined ? DEAD_LETTER_HEAD_BYTES : 0);
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
    ...(letter.headOmitted === undefined ? {} : { head_omitted: letter.headOmitted }),
    ...(letter.writer === undefined ? {} : { writer: letter.writer.slice(0, DEAD_LETTER_SUBJECT_CHARS) }),
    ...(letter.summarized === undefined || letter.summarized.count === 0
      ? {}
      : {
          seq_ranges: letter.summarized.ranges.map(({ first, last }) => ({ first, last })),
          more_count: letter.summarized.count,
          seq_ranges_exact: letter.summarized.exact,
        }),
  };
}

/**
 * Stores a rejected message's bounded record (`deadLetterRecord`, JSON) on
 * `<root>.dlq.<stream>`, with the reason, position and count also in headers.
 * `Nats-Msg-Id` = `<stream>:<seq>:<consumer>`, so dead-lettering the same bad message again (a
 * restart before the checkpoint moved) does not fill the dead-letter stream twice; a summary's is
 * `<stream>:<seq>..<last of seq_ranges>:<consumer>`, so that a summary is never taken for the
 * dead letter of its first message alone (the messages read again after a restart may be
 * summarized otherwise: then a message may be in two dead letters).
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
  const last = record.seq_ranges?.at(-1)?.last;
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
