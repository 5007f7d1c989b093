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
} as const;

/** Bytes of the rejected body kept in a dead letter (`head_base64`); the rest is only digested. */
export const DEAD_LETTER_HEAD_BYTES = 4096;
/** Characters of the rejection reason kept (header and body). */
export const DEAD_LETTER_REASON_CHARS = 2000;
/** Characters of the original subject kept (NATS allows long subjects; the record stays bounded). */
export const DEAD_LETTER_SUBJECT_CHARS = 512;

/**
 * The body of a dead letter (issue 7.4). Bounded by construction — about 8 KiB at most, whatever
 * the rejected message's size — so setting a poison message aside can never fail for being too
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
});
export type DeadLetterRecord = z.infer<typeof DeadLetterRecordSchema>;
