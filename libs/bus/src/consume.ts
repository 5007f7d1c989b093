import {
  eventSubjectMismatch,
  isKasmapError,
  type KasmapEvent,
  KasmapEventSchema,
  type StreamRole,
} from "@kasmap/contracts";
import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JsMsg,
} from "@nats-io/jetstream";
import { backoffDelayMs, sleep } from "./backoff.ts";
import type { Bus } from "./bus.ts";
import { publishDeadLetter } from "./dead-letter.ts";

export type MessageMeta = {
  stream: string;
  /** Stream sequence: the position a projection stores to stay idempotent. */
  seq: number;
  subject: string;
  /** 1 on first delivery. */
  deliveryCount: number;
};

export type EventConsumerOptions = {
  stream: StreamRole;
  /** Durable consumer name; the server remembers its position across restarts. */
  durable: string;
  /** Narrow the stream to one subject pattern (a single filter: nats-server 2.9). */
  filterSubject?: string;
  /**
   * Applies one event. Must be idempotent: after a crash the message is delivered again.
   * Throw `KasmapError("validation_failed")` for an event that can never be applied (it is
   * dead-lettered); any other error is retried with backoff, in place, so order holds.
   */
  handle(event: KasmapEvent, meta: MessageMeta): Promise<void>;
  /** Called on every rejected or failing message, for logs and metrics. */
  onProblem?(problem: { kind: "dead-lettered" | "retrying"; meta: MessageMeta; reason: string }): void;
};

export type EventConsumer = {
  /** Stops after the message in hand; unacknowledged messages are redelivered later. */
  stop(): Promise<void>;
  /** Resolves when the loop has ended. */
  readonly done: Promise<void>;
};

async function ensureDurable(bus: Bus, streamName: string, options: EventConsumerOptions): Promise<void> {
  const config: Partial<ConsumerConfig> = {
    durable_name: options.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: 30_000_000_000,
    max_deliver: -1,
    // One unacknowledged message at a time: otherwise, after a crash or a lost connection,
    // newer messages arrive before the redelivery of older ones in flight, and a projection
    // that skips what is behind its stored position would skip those older ones for good.
    max_ack_pending: 1,
    ...(options.filterSubject ? { filter_subject: options.filterSubject } : {}),
  };
  try {
    await bus.jsm.consumers.info(streamName, options.durable);
    await bus.jsm.consumers.update(streamName, options.durable, config);
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.code !== JetStreamApiCodes.ConsumerNotFound)
      throw error;
    await bus.jsm.consumers.add(streamName, config);
  }
}

/**
 * Runs a durable pull consumer over one stream: parse (JSON, then the zod event union),
 * apply, ack. A message that fails validation is dead-lettered with its reason and
 * terminated — never silently dropped. A failing handler is retried in place with backoff
 * (heartbeating `working()` so the server does not redeliver meanwhile), which keeps the
 * per-subject order the read model depends on. Losing the connection or the consumer
 * restarts the loop; nothing is acknowledged before it is applied.
 */
export function startEventConsumer(bus: Bus, options: EventConsumerOptions): EventConsumer {
  const controller = new AbortController();
  const streamName = bus.topology.streamNames[options.stream];
  let current: { stop(): void } | null = null;

  const done = (async () => {
    for (let attempt = 1; !controller.signal.aborted; attempt++) {
      try {
        await ensureDurable(bus, streamName, options);
        const consumer = await bus.js.consumers.get(streamName, options.durable);
        // Pull what the server may send: with max_ack_pending 1, a larger pull waits on the
        // server side and stalls delivery after an in-place retry (nats-server 2.9).
        const messages = await consumer.consume({ max_messages: 1 });
        current = messages;
        // stop() may have run while we were starting: it found nothing to stop, so stop here.
        if (controller.signal.aborted) {
          messages.stop();
          break;
        }
        attempt = 0;
        for await (const message of messages) {
          await processMessage(bus, streamName, message, options, controller.signal);
          if (controller.signal.aborted) break;
        }
      } catch (error) {
        if (controller.signal.aborted || bus.nc.isClosed()) break;
        options.onProblem?.({
          kind: "retrying",
          meta: { stream: streamName, seq: 0, subject: "", deliveryCount: 0 },
          reason: `consumer loop: ${String(error)}`,
        });
      }
      if (controller.signal.aborted || bus.nc.isClosed()) break;
      await sleep(backoffDelayMs(Math.max(1, attempt), 200, 5_000), controller.signal);
    }
  })();

  return {
    done,
    async stop() {
      controller.abort();
      // stop(), not close(): close() resolves only once the iterator has been drained, which
      // never happens if the loop is between consume() and its first iteration.
      current?.stop();
      await done;
    },
  };
}

async function processMessage(
  bus: Bus,
  streamName: string,
  message: JsMsg,
  options: EventConsumerOptions,
  signal: AbortSignal,
): Promise<void> {
  const meta: MessageMeta = {
    stream: streamName,
    seq: message.seq,
    subject: message.subject,
    deliveryCount: message.info.deliveryCount,
  };
  const parsed = parseEvent(message.data);
  if (!parsed.ok) {
    await deadLetter(bus, message, meta, options, parsed.reason);
    return;
  }
  const mismatch = eventSubjectMismatch(parsed.event, message.subject);
  if (mismatch) {
    await deadLetter(bus, message, meta, options, `subject: ${mismatch}`);
    return;
  }
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      await options.handle(parsed.event, meta);
      message.ack();
      return;
    } catch (error) {
      if (isKasmapError(error, "validation_failed")) {
        await deadLetter(bus, message, meta, options, error.message);
        return;
      }
      options.onProblem?.({ kind: "retrying", meta, reason: String(error) });
      message.working();
      await sleep(backoffDelayMs(attempt, 100, 10_000), signal);
    }
  }
}

async function deadLetter(
  bus: Bus,
  message: JsMsg,
  meta: MessageMeta,
  options: EventConsumerOptions,
  reason: string,
): Promise<void> {
  await publishDeadLetter(bus, {
    stream: meta.stream,
    seq: meta.seq,
    subject: meta.subject,
    consumer: options.durable,
    reason,
    payload: message.data,
  });
  options.onProblem?.({ kind: "dead-lettered", meta, reason });
  // No reason on the TERM: nats-server 2.9 does not parse `+TERM <reason>` and leaves the
  // message pending, to be redelivered after the ack wait (the reason is in the dead letter).
  message.term();
}

/** Parses bytes into a Kasmap event, or says precisely why not. */
export function parseEvent(
  data: Uint8Array,
): { ok: true; event: KasmapEvent } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(data));
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
  const result = KasmapEventSchema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
      .join("; ");
    return { ok: false, reason: `schema: ${issues}` };
  }
  return { ok: true, event: result.data };
}
