import type { StreamPosition } from "@kasmap/contracts";
/**
 * Server-Sent Events wire format (WHATWG HTML, "Server-sent events"): fields `event:`, `id:`,
 * `data:`, one per line, a blank line ending the event; a line starting with `:` is a comment
 * that clients ignore (used as keep-alive).
 */

/** One event frame: `event: <type>\nid: <id>\ndata: <line>\n…\n\n` (multi-line data split per line). */
export function sseEventFrame(frame: { event: string; id: string; data: string }): string {
  const data = frame.data
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}\n`)
    .join("");
  return `event: ${singleLine(frame.event)}\nid: ${singleLine(frame.id)}\n${data}\n`;
}

/** A comment frame, `: <text>\n\n`; proxies and clients keep an idle connection open on it. */
export function sseCommentFrame(text: string): string {
  return `: ${singleLine(text)}\n\n`;
}

/** Field values other than data may not hold line breaks: they would end the field early. */
function singleLine(value: string): string {
  return value.replace(/[\r\n]+/g, " ");
}

/** A stream position as Kasmap sends it in `id:` (`<stream name>:<sequence>`). */
export function streamPositionId(position: StreamPosition): string {
  return `${position.stream}:${position.seq}`;
}

/** Reads a `Last-Event-ID` header back into a position; null when absent or not one of ours. */
export function parseLastEventId(header: string | string[] | undefined): StreamPosition | null {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value === undefined ? null : /^([A-Za-z0-9_-]+):([1-9][0-9]{0,15})$/.exec(value.trim());
  if (!match?.[1] || !match[2]) return null;
  const seq = Number(match[2]);
  return Number.isSafeInteger(seq) ? { stream: match[1], seq } : null;
}

/**
 * A deep copy of `value` without any `token_sha256` field. Events carry token digests, never
 * tokens, but a digest is still a lookup key no live subscriber needs.
 */
export function withoutTokenDigests(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTokenDigests);
  if (typeof value !== "object" || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (key !== "token_sha256") copy[key] = withoutTokenDigests(field);
  }
  return copy;
}
