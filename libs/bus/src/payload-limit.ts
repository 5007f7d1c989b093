import { EVENT_BINDINGS, type EventType, isKasmapError, KasmapError, type Topology } from "@kasmap/contracts";
import { JetStreamApiError } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";

/** JetStream's `JSStreamMessageExceedsMaximumErr`: the stream's `max_msg_size` refuses the message. */
const JS_MESSAGE_EXCEEDS_MAXIMUM = 10054;

/** nats-server's default `max_payload` (1 MiB), assumed until the server's INFO has arrived. */
export const NATS_DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/**
 * Room left for the headers of an event (`Nats-Msg-Id`, `Content-Type`, `Ce-Type` and the
 * `NATS/1.0` line: about 150 bytes today) when a body is checked before it is published; the
 * collector's snapshot check leaves the same room.
 */
export const EVENT_HEADER_ALLOWANCE_BYTES = 512;

/**
 * The largest message (headers + body, in bytes) the connected server accepts: `max_payload`
 * from its INFO, which may change after a reconnect to another server.
 */
export function maxPayloadBytes(nc: Pick<NatsConnection, "info">): number {
  return nc.info?.max_payload ?? NATS_DEFAULT_MAX_PAYLOAD_BYTES;
}

/**
 * The largest body an event of `type` may have: the smaller of the server's `max_payload` and
 * the `max_msg_size` of the stream the type is bound to (both count headers), less
 * {@link EVENT_HEADER_ALLOWANCE_BYTES}.
 */
export function maxEventBodyBytes(
  bus: { nc: Pick<NatsConnection, "info">; topology: Pick<Topology, "streams"> },
  type: EventType,
): number {
  return maxStreamBodyBytes(bus, EVENT_BINDINGS[type].stream);
}

/**
 * The largest body a message of the stream of `role` may have: the smaller of the server's
 * `max_payload` and the stream's `max_msg_size`, less {@link EVENT_HEADER_ALLOWANCE_BYTES}.
 */
export function maxStreamBodyBytes(
  bus: { nc: Pick<NatsConnection, "info">; topology: Pick<Topology, "streams"> },
  role: Topology["streams"][number]["role"],
): number {
  const stream = bus.topology.streams.find((declaration) => declaration.role === role);
  const limit = Math.min(maxPayloadBytes(bus.nc), stream?.maxMsgBytes ?? Number.POSITIVE_INFINITY);
  return limit - EVENT_HEADER_ALLOWANCE_BYTES;
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
    `${what} is ${bytes} bytes, over the ${limitBytes}-byte limit set by the NATS server's max_payload or the stream's max_msg_size`,
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
