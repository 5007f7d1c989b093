import {
  EVENT_BINDINGS,
  eventBindingMismatch,
  KasmapError,
  type KasmapEvent,
  KasmapEventSchema,
} from "@kasmap/contracts";
import { JetStreamApiError } from "@nats-io/jetstream";
import { headers } from "@nats-io/nats-core";
import { backoffDelayMs, sleep } from "./backoff.ts";
import type { Bus } from "./bus.ts";
import { maxEventBodyBytes, refuseOverLimit, unpublishableReason } from "./payload-limit.ts";

export type PublishedPosition = { stream: string; seq: number; duplicate: boolean };

export type PublishOptions = {
  /** Give up after this many attempts (default: keep trying for ~2 minutes). */
  maxAttempts?: number;
  /**
   * Optimistic concurrency: the publish fails unless the last message on this subject has
   * this stream sequence (`Nats-Expected-Last-Subject-Sequence`, nats-server ≥ 2.9; 0: no
   * message yet), with an error {@link isWrongLastSubjectSequence} recognises. Other failures
   * are retried: the server checks `Nats-Msg-Id` first, so a retry of a publish that was stored
   * but whose ack was lost is a duplicate, not a wrong sequence.
   */
  expectedLastSubjectSequence?: number;
  /**
   * More NATS headers stored with the message (names outside `Nats-*`, `Ce-*`, `Content-Type`),
   * e.g. bookkeeping a publisher reads back with the message and no consumer needs.
   */
  headers?: Readonly<Record<string, string>>;
};

/** JetStream's `10071 wrong last sequence`: another publisher wrote on the subject first. */
const JS_WRONG_LAST_SEQUENCE = 10071;

/** True for the refusal of a publish whose `expectedLastSubjectSequence` was not the last. */
export function isWrongLastSubjectSequence(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === JS_WRONG_LAST_SEQUENCE;
}

/** An event checked and encoded for JetStream: what `publishEvent` and `publishEventsInOrder` send. */
export type EncodedEvent = { event: KasmapEvent; subject: string; payload: Uint8Array };

/**
 * Validates `event` (any value: a stored row's JSON too) and encodes it as a CloudEvents structured-mode JSON body. An invalid event
 * is a bug in the publisher and must never reach the log (a zod error, or `validation_failed`
 * for an event off its bound subject). A body over the server's `max_payload` or its stream's
 * `max_msg_size`, less 512 bytes for headers, fails with `payload_too_large`: no retry can make
 * it fit.
 */
export function encodeEvent(bus: Bus, event: unknown): EncodedEvent {
  const parsed = KasmapEventSchema.parse(event);
  // Consumers dead-letter an event off its bound subject; publishing one is a publisher bug.
  const mismatch = eventBindingMismatch(parsed, {
    root: bus.topology.root,
    stream: EVENT_BINDINGS[parsed.type].stream,
    subject: parsed.subject,
  });
  if (mismatch) throw new KasmapError("validation_failed", `refusing to publish: ${mismatch}`);
  const payload = new TextEncoder().encode(JSON.stringify(parsed));
  refuseOverLimit(`event ${parsed.type} ${parsed.id}`, payload.length, maxEventBodyBytes(bus, parsed.type));
  return { event: parsed, subject: parsed.subject, payload };
}

/**
 * One publish of an encoded event, no retry: header `Nats-Msg-Id` = `event.id` (the server drops
 * a re-publish inside the duplicate window and answers with the original sequence), plus the
 * expectations given (and `extraHeaders`, see `PublishOptions.headers`). The message is written to the connection before this returns its promise,
 * so calls on one connection reach the server in call order.
 */
export async function sendEncodedEvent(
  bus: Bus,
  encoded: EncodedEvent,
  expect: { lastSubjectSequence?: number; lastMsgID?: string } = {},
  extraHeaders: Readonly<Record<string, string>> = {},
): Promise<PublishedPosition> {
  const h = headers();
  // Set first: the event's own headers below win over a same-named extra one.
  for (const [name, value] of Object.entries(extraHeaders)) h.set(name, value);
  h.set("Content-Type", "application/cloudevents+json");
  h.set("Ce-Type", encoded.event.type);
  const ack = await bus.js.publish(encoded.subject, encoded.payload, {
    msgID: encoded.event.id,
    headers: h,
    ...(Object.keys(expect).length > 0 ? { expect } : {}),
  });
  return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
}

/**
 * Publishes one event to JetStream on `event.subject` (`encodeEvent`, then `sendEncodedEvent`),
 * retrying failures that may pass: `Nats-Msg-Id` = `event.id` makes the retry loop safe. An
 * invalid or too large event fails at once, never retried.
 */
export async function publishEvent(
  bus: Bus,
  event: KasmapEvent,
  options: PublishOptions = {},
): Promise<PublishedPosition> {
  const encoded = encodeEvent(bus, event);
  const maxAttempts = options.maxAttempts ?? 30;
  const expect =
    options.expectedLastSubjectSequence === undefined
      ? {}
      : { lastSubjectSequence: options.expectedLastSubjectSequence };
  for (let attempt = 1; ; attempt++) {
    try {
      return await sendEncodedEvent(bus, encoded, expect, options.headers);
    } catch (error) {
      const hopeless = unpublishableReason(error) !== null || isWrongLastSubjectSequence(error);
      if (attempt >= maxAttempts || bus.nc.isClosed() || hopeless) throw error;
      await sleep(backoffDelayMs(attempt, 100, 5_000));
    }
  }
}
