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
  /** How many rejected messages the dead letter stands for: 1, or 1 + `more_seqs` of a summary. */
  count: "Kasmap-Dlq-Count",
} as const;

/** Bytes of the rejected body kept in a dead letter (`head_base64`); the rest is only digested. */
export const DEAD_LETTER_HEAD_BYTES = 4096;
/** Characters of the rejection reason kept (header and body). */
export const DEAD_LETTER_REASON_CHARS = 2000;
/** Characters of the original subject kept (NATS allows long subjects; the record stays bounded). */
export const DEAD_LETTER_SUBJECT_CHARS = 512;
/** Most further sequences one summary dead letter lists (`more_seqs`); more make more summaries. */
export const DEAD_LETTER_MORE_SEQS = 1000;

/**
 * The body of a dead letter (issue 7.4). Bounded by construction — about 8 KiB at most with an
 * ASCII reason, 47 KiB for a summary listing `DEAD_LETTER_MORE_SEQS` sequences, whatever the
 * rejected message's size — so setting a poison message aside can never fail for being too
 * large: a copy of a body near `max_payload` plus headers would not fit, and the consumer would
 * restart on it forever. The digest identifies the original; `head_base64` shows its start.
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
  /** The first `DEAD_LETTER_HEAD_BYTES` bytes of the original body, base64. */
  head_base64: z.string(),
  /** True when `head_base64` holds less than the whole body. */
  truncated: z.boolean(),
  /**
   * A summary (a flood): the stream sequences of further messages the same consumer rejected
   * together with this one — messages of one writer beyond its dead-letter budget, in stream
   * order. Only the first message (`seq`) is described by the fields above; the others stay in
   * their stream until its max age, where `reason`'s cause can be read again. Absent on a dead
   * letter of one message.
   */
  more_seqs: z.array(z.number().int().nonnegative()).max(DEAD_LETTER_MORE_SEQS).optional(),
});
export type DeadLetterRecord = z.infer<typeof DeadLetterRecordSchema>;
