import { isKasmapError, KasmapError } from "@kasmap/contracts";
import { JetStreamApiError } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";

/** JetStream's `JSStreamMessageExceedsMaximumErr`: the stream's `max_msg_size` refuses the message. */
const JS_MESSAGE_EXCEEDS_MAXIMUM = 10054;

/** nats-server's default `max_payload` (1 MiB), assumed until the server's INFO has arrived. */
export const NATS_DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/**
 * Room left for the headers of an event (`Nats-Msg-Id`, `Content-Type`, `Ce-Type`, and what the
 * client adds, about 200 bytes today) when a body is checked before it is published.
 */
export const EVENT_HEADER_ALLOWANCE_BYTES = 1024;

/**
 * The largest message (headers + body, in bytes) the connected server accepts: `max_payload`
 * from its INFO, which may change after a reconnect to another server.
 */
export function maxPayloadBytes(nc: Pick<NatsConnection, "info">): number {
  return nc.info?.max_payload ?? NATS_DEFAULT_MAX_PAYLOAD_BYTES;
}

/** The largest event body that still fits with its headers (`max_payload` − 1 KiB). */
export function maxEventBodyBytes(nc: Pick<NatsConnection, "info">): number {
  return maxPayloadBytes(nc) - EVENT_HEADER_ALLOWANCE_BYTES;
}

/**
 * Throws `payload_too_large` naming `what`, its size and the limit when `bytes` exceeds
 * `limitBytes`. The NATS client would throw too, but with no size and no way to tell it from
 * a transient failure; callers treat this one as permanent (never retried).
 */
export function refuseOverLimit(what: string, bytes: number, limitBytes: number): void {
  if (bytes <= limitBytes) return;
  throw new KasmapError(
    "payload_too_large",
    `${what} is ${bytes} bytes, over the ${limitBytes}-byte limit set by the NATS server's max_payload`,
  );
}

/**
 * Why a failed publish can never succeed however often it is retried — the message is over the
 * server's `max_payload` or the stream's `max_msg_size` — or null when a retry may work.
 */
export function unpublishableReason(error: unknown): string | null {
  if (isKasmapError(error, "payload_too_large")) return error.message;
  if (error instanceof JetStreamApiError && error.code === JS_MESSAGE_EXCEEDS_MAXIMUM) {
    return `the stream refused the message as too large (max_msg_size): ${error.message}`;
  }
  return null;
}
