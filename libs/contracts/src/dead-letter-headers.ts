import { z } from "zod";

/**
 * Header names on a dead letter (`<root>.dlq.<stream>`): they say where the rejected message
 * came from and why; the body is a `DeadLetterRecord`. Here rather than in `@kasmap/bus` so
 * the AsyncAPI document describes the same names the bus writes.
 */
export const DEAD_LETTER_HEADERS = {
  reason: "Kasmap-Dlq-Reason",
  stream: "Kasmap-Dlq-Stream",
  seq: "Kasmap-Dlq-Seq",
  subject: "Kasmap-Dlq-Subject",
  consumer: "Kasmap-Dlq-Consumer",
  /** How many rejected messages the dead letter stands for: 1, or 1 + `more_count` of a summary. */
  count: "Kasmap-Dlq-Count",
} as const;

/** Bytes of the rejected body kept in a dead letter (`head_base64`); the rest is only digested. */
export const DEAD_LETTER_HEAD_BYTES = 4096;
/**
 * Why a dead letter keeps no head (`head_omitted`; its `head_base64` is then ""): `budget`, its
 * writer's dead letters already carried their bytes of heads for the last 60 s of server time (a
 * flood of large refused messages costs the dead-letter stream a bounded amount of heads).
 */
export const DEAD_LETTER_HEAD_OMISSIONS = { budget: "budget" } as const;
export type DeadLetterHeadOmission =
  (typeof DEAD_LETTER_HEAD_OMISSIONS)[keyof typeof DEAD_LETTER_HEAD_OMISSIONS];
/** Characters of the rejection reason kept (header and body). */
export const DEAD_LETTER_REASON_CHARS = 2000;
/** Characters of the original subject kept (NATS allows long subjects; the record stays bounded). */
export const DEAD_LETTER_SUBJECT_CHARS = 512;
/**
 * Most sequences a summary written before `seq_ranges` listed (`more_seqs`): the schema still
 * reads such summaries, which the dead-letter stream keeps for the audit retention.
 */
export const DEAD_LETTER_MORE_SEQS = 1000;
/**
 * Most ranges one summary lists (`seq_ranges`): its size stays bounded however many messages it
 * stands for. Past it the last range grows to take the rest (`seq_ranges_exact: false`).
 */
export const DEAD_LETTER_SEQ_RANGES = 512;

/**
 * `first`–`last` (inclusive) of a summary's `seq_ranges`: every message of the summary's
 * `writer` that its consumer read in that span of its stream's sequences. Other writers'
 * messages in between are not part of it, so a flood interleaved with other traffic stays one
 * range.
 */
export const DeadLetterSeqRangeSchema = z.object({
  first: z.number().int().nonnegative(),
  last: z.number().int().nonnegative(),
});
export type DeadLetterSeqRange = z.infer<typeof DeadLetterSeqRangeSchema>;

/**
 * The body of a dead letter (issue 7.4). Bounded by construction — about 8 KiB at most with an
 * ASCII reason, ~35 KiB for a summary listing `DEAD_LETTER_SEQ_RANGES` ranges, whatever the
 * rejected message's size or how many messages a summary stands for — so setting a poison
 * message aside can never fail for being too large: a copy of a body near `max_payload` plus
 * headers would not fit, and the consumer would restart on it forever. The digest identifies the
 * original; `head_base64` shows its start.
 */
export const DeadLetterRecordSchema = z.object({
  reason: z.string().max(DEAD_LETTER_REASON_CHARS),
  /** Stream the message was read from, and its sequence there (the original stays in the stream until its max age). */
  stream: z.string(),
  seq: z.number().int().nonnegative(),
  subject: z.string().max(DEAD_LETTER_SUBJECT_CHARS),
  consumer: z.string(),
  /** When the server stored the original (JetStream timestamp), ISO 8601. */
  stored_at: z.iso.datetime({ offset: true }).nullable(),
  /** Size of the original body in bytes. */
  size: z.number().int().nonnegative(),
  /** SHA-256 hex of the original body. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** The first `DEAD_LETTER_HEAD_BYTES` bytes of the original body, base64; "" with `head_omitted`. */
  head_base64: z.string(),
  /** True when `head_base64` holds less than the whole body. */
  truncated: z.boolean(),
  /**
   * Present when the head was left out (`head_base64` is ""; `truncated` true unless the body is
   * empty): `budget`, the writer was over its bytes of heads per minute. The original stays in its
   * stream at `seq` until the stream's max age; `sha256` identifies it. Absent on older dead letters.
   */
  head_omitted: z.enum(DEAD_LETTER_HEAD_OMISSIONS).optional(),
  /**
   * On a summary and on the dead letter that opens a writer's summary window: the writer over
   * its dead-letter budget, as the consumer names it (`agent 42`: the agent of the subject on
   * the collector streams).
   */
  writer: z.string().max(DEAD_LETTER_SUBJECT_CHARS).optional(),
  /**
   * A summary (a flood): the further messages of `writer` beyond its dead-letter budget that the
   * same consumer rejected after this one, as ranges of stream sequences in stream order (each
   * range: every message of `writer` in it that the consumer read). Only the first message
   * (`seq`) is described by the fields above; the others stay in their stream until its max age,
   * where `reason`'s cause can be read again. Absent on a dead letter of one message.
   */
  seq_ranges: z.array(DeadLetterSeqRangeSchema).max(DEAD_LETTER_SEQ_RANGES).optional(),
  /** With `seq_ranges`: how many messages they stand for (the dead letter stands for 1 + this). */
  more_count: z.number().int().nonnegative().optional(),
  /**
   * With `seq_ranges`: false when the writer's messages needed more than
   * `DEAD_LETTER_SEQ_RANGES` ranges, so the last one also spans messages of `writer` that are
   * not part of the summary (applied, or with a dead letter of their own); `more_count` stays exact.
   */
  seq_ranges_exact: z.boolean().optional(),
  /**
   * A summary written before `seq_ranges`: the stream sequences of the further messages, in
   * stream order. Read, no longer written.
   */
  more_seqs: z.array(z.number().int().nonnegative()).max(DEAD_LETTER_MORE_SEQS).optional(),
});
export type DeadLetterRecord = z.infer<typeof DeadLetterRecordSchema>;

/** How many rejected messages a dead letter stands for (its `Kasmap-Dlq-Count`). */
export function deadLetterCount(record: Pick<DeadLetterRecord, "more_count" | "more_seqs">): number {
  return 1 + (record.more_count ?? 0) + (record.more_seqs?.length ?? 0);
}

/**
 * Whether a dead letter stands for the message at `seq` of its stream, written by `writer` (the
 * consumer's name for the message's writer, e.g. `agent 42`; see `writer`): its own `seq`, one
 * of `more_seqs`, or a sequence of that writer inside `seq_ranges`. Of a summary whose
 * `seq_ranges_exact` is false, the last range may also hold messages it does not stand for.
 */
export function deadLetterStandsFor(record: DeadLetterRecord, seq: number, writer?: string): boolean {
  if (record.seq === seq || record.more_seqs?.includes(seq)) return true;
  if (writer === undefined || record.writer !== writer) return false;
  return (record.seq_ranges ?? []).some((range) => seq >= range.first && seq <= range.last);
}
