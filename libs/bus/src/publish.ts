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

/**
 * Publishes one event to JetStream on `event.subject`, as a CloudEvents structured-mode JSON
 * body. Header `Nats-Msg-Id` = `event.id`, so the server drops a re-publish inside the
 * duplicate window; that makes the retry loop here safe. The event is validated first: an
 * invalid event is a bug in the publisher and must never reach the log. An event whose body
 * exceeds the server's `max_payload` or its stream's `max_msg_size`, less 512 bytes for headers,
 * fails at once with `payload_too_large`, never retried: no retry can make it fit.
 */
export async function publishEvent(
  bus: Bus,
  event: KasmapEvent,
  options: PublishOptions = {},
): Promise<PublishedPosition> {
  const parsed = KasmapEventSchema.parse(event);
  // Consumers dead-letter an event off its bound subject; publishing one is a publisher bug.
  const mismatch = eventBindingMismatch(parsed, {
    root: bus.topology.root,
    stream: EVENT_BINDINGS[parsed.type].stream,
    subject: parsed.subject,
  });
  if (mismatch) throw new KasmapError("validation_failed", `refusing to publish: ${mismatch}`);
  const payload = new TextEncoder().encode(JSON.stringify(parsed));
  const h = headers();
  // Set first: the event's own headers below win over a same-named extra one.
  for (const [name, value] of Object.entries(options.headers ?? {})) h.set(name, value);
  h.set("Content-Type", "application/cloudevents+json");
  h.set("Ce-Type", parsed.type);
  refuseOverLimit(`event ${parsed.type} ${parsed.id}`, payload.length, maxEventBodyBytes(bus, parsed.type));
  const maxAttempts = options.maxAttempts ?? 30;
  for (let attempt = 1; ; attempt++) {
    try {
      const ack = await bus.js.publish(parsed.subject, payload, {
        msgID: parsed.id,
        headers: h,
        ...(options.expectedLastSubjectSequence === undefined
          ? {}
          : { expect: { lastSubjectSequence: options.expectedLastSubjectSequence } }),
      });
      return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
    } catch (error) {
      const hopeless = unpublishableReason(error) !== null || isWrongLastSubjectSequence(error);
      if (attempt >= maxAttempts || bus.nc.isClosed() || hopeless) throw error;
      await sleep(backoffDelayMs(attempt, 100, 5_000));
    }
  }
}
