import {
  eventBindingMismatch,
  type KasmapEvent,
  KasmapEventSchema,
  type StoredLocation,
  summarizeZodIssues,
} from "@kasmap/contracts";

/** Where a message sits in its stream, for checkpoints, logs and dead letters. */
export type MessageMeta = {
  stream: string;
  /** Stream sequence: the position a projection stores to stay idempotent. */
  seq: number;
  subject: string;
  /** 1 on first delivery. */
  deliveryCount: number;
  /**
   * When the server stored the message (JetStream timestamp): the only time a publisher cannot
   * choose, so collector times are clamped to it (issue 7.6).
   */
  storedAt: Date;
  /** Size of the body in bytes. */
  bytes: number;
};

export type ParsedEvent = { ok: true; event: KasmapEvent } | { ok: false; reason: string };

/** Stateless between calls (no `stream` option): one for every message. */
const utf8 = new TextDecoder();

/** Parses bytes into a Kasmap event, or says precisely why not. */
export function parseEvent(data: Uint8Array): ParsedEvent {
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(data));
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
  const result = KasmapEventSchema.safeParse(json);
  if (!result.success) return { ok: false, reason: `schema: ${summarizeZodIssues(result.error, 5)}` };
  return { ok: true, event: result.data };
}

/**
 * What a consumer may trust of a stored message: JSON, then the zod event union, then where it
 * was stored (`eventBindingMismatch`: the type must belong to the stream and subject, and the
 * body must not claim another aggregate than the subject names).
 */
export function parseStoredEvent(data: Uint8Array, stored: StoredLocation): ParsedEvent {
  const parsed = parseEvent(data);
  if (!parsed.ok) return parsed;
  const mismatch = eventBindingMismatch(parsed.event, stored);
  return mismatch ? { ok: false, reason: `subject: ${mismatch}` } : parsed;
}
