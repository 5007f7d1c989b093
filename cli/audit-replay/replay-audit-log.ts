import { type Bus, parseStoredEvent } from "@kasmap/bus";
import { agentIdOfEvent, type KasmapEvent } from "@kasmap/contracts";
import { type Consumer, DeliverPolicy, type JsMsg } from "@nats-io/jetstream";
import { type AuditStream, type ReplayCommand, typeSelected } from "./audit-replay-args.ts";

/** One line of the replay: the event as the log holds it, with where it sits there. */
export type ReplayedEvent = { stream: string; seq: number; stored_at: string; event: KasmapEvent };

/**
 * Reads the selected streams over the window with one ordered consumer each (ephemeral, no
 * acks; `opt_start_time` or `opt_start_seq`), up to what each held when the replay began, and
 * yields the matching events merged oldest first by the time the server stored them. Streams
 * as it reads: at most one fetched batch per stream is held (a k-way merge of the streams, each
 * already in stored order), so memory stays flat however long the window.
 * Messages that fail the schema or their type's stream and subject binding are skipped (the
 * projection dead-lettered them already): a collector's forgery is not history.
 */
export async function* streamAuditLog(bus: Bus, command: ReplayCommand): AsyncGenerator<ReplayedEvent> {
  const sources = command.streams.map((role) => readStream(bus, role, command));
  try {
    const heads = await Promise.all(sources.map((source) => source.next()));
    for (;;) {
      let oldest = -1;
      for (let i = 0; i < heads.length; i++) {
        const head = heads[i];
        if (!head || head.done) continue;
        const best = oldest < 0 ? undefined : heads[oldest];
        if (!best || best.done || earlier(head.value, best.value)) oldest = i;
      }
      const source = sources[oldest];
      const head = heads[oldest];
      if (!source || !head || head.done) return;
      yield head.value;
      heads[oldest] = await source.next();
    }
  } finally {
    // Deletes the consumers of streams not read to their end (an early stop, `| head`).
    await Promise.all(sources.map((source) => source.return(undefined)));
  }
}

/** The whole replay as an array (`streamAuditLog` collected): for callers that want every event. */
export async function replayAuditLog(bus: Bus, command: ReplayCommand): Promise<ReplayedEvent[]> {
  const replayed: ReplayedEvent[] = [];
  for await (const event of streamAuditLog(bus, command)) replayed.push(event);
  return replayed;
}

/**
 * Oldest first by stored time, then by stream sequence (the order `sort` gave before). The times
 * are `toISOString()`'s, one fixed format, so their order as strings is their order in time.
 */
function earlier(a: ReplayedEvent, b: ReplayedEvent): boolean {
  return a.stored_at < b.stored_at || (a.stored_at === b.stored_at && a.seq < b.seq);
}

async function* readStream(
  bus: Bus,
  role: AuditStream,
  command: ReplayCommand,
): AsyncGenerator<ReplayedEvent> {
  const stream = bus.topology.streamNames[role];
  const filter = subjectFilter(bus, role, command.agentId);
  const consumer = await bus.js.consumers.get(stream, {
    ...(command.start.kind === "time"
      ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: command.start.since }
      : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: command.start.fromSeq }),
    ...(filter ? { filter_subjects: filter } : {}),
  });
  try {
    yield* readUntilCaughtUp(bus, consumer, role, command);
  } finally {
    // Frees the server-side consumer now rather than after its inactivity threshold.
    await consumer.delete().catch(() => false);
  }
}

async function* readUntilCaughtUp(
  bus: Bus,
  consumer: Consumer,
  role: AuditStream,
  command: ReplayCommand,
): AsyncGenerator<ReplayedEvent> {
  const stream = bus.topology.streamNames[role];
  // What is pending now bounds the replay: events published meanwhile belong to a later one.
  let remaining = (await consumer.info()).num_pending;
  const untilMs = command.until === null ? Number.POSITIVE_INFINITY : Date.parse(command.until);
  while (remaining > 0) {
    const batch = await consumer.fetch({ max_messages: Math.min(remaining, 500), expires: 5_000 });
    // The batch's messages first, then what the merge asks for: a fetch is not held open while
    // the caller (a slow pipe, say) takes its time.
    const messages: JsMsg[] = [];
    for await (const message of batch) messages.push(message);
    // An empty batch means the messages are gone (age limit) since num_pending was read.
    if (messages.length === 0) return;
    for (const message of messages) {
      remaining--;
      const storedAt = message.time;
      if (storedAt.getTime() > untilMs) return;
      const event = selected(bus, role, message, command);
      if (event) yield { stream, seq: message.seq, stored_at: storedAt.toISOString(), event };
    }
  }
}

function selected(bus: Bus, role: AuditStream, message: JsMsg, command: ReplayCommand): KasmapEvent | null {
  const parsed = parseStoredEvent(message.data, {
    root: bus.topology.root,
    stream: role,
    subject: message.subject,
  });
  if (!parsed.ok || !typeSelected(command.types, parsed.event.type)) return null;
  if (command.agentId !== null && agentIdOfEvent(parsed.event) !== command.agentId) return null;
  return parsed.event;
}

/** Cluster and authz subjects name the agent, so the server filters those streams. */
function subjectFilter(bus: Bus, role: AuditStream, agentId: number | null): string | null {
  if (agentId === null) return null;
  if (role === "cluster") return bus.topology.subjects.clusterSnapshot(agentId);
  if (role === "authz") return bus.topology.subjects.authzChanged(agentId);
  return null;
}
