/**
 * Header names on a dead letter (`<root>.dlq.<stream>`): the body is the rejected message's
 * original bytes, these say where it came from and why. Here rather than in `@kasmap/bus` so
 * the AsyncAPI document describes the same names the bus writes.
 */
export const DEAD_LETTER_HEADERS = {
  reason: "Kasmap-Dlq-Reason",
  stream: "Kasmap-Dlq-Stream",
  seq: "Kasmap-Dlq-Seq",
  subject: "Kasmap-Dlq-Subject",
  consumer: "Kasmap-Dlq-Consumer",
} as const;
