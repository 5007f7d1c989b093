import { type Bus, parseStoredEvent } from "@kasmap/bus";
import type { StreamPosition, StreamRole } from "@kasmap/contracts";
import { DeliverPolicy } from "@nats-io/jetstream";
import { LIVE_ROLES, type LiveEvent } from "./shared-live-feed.ts";

/**
 * On resume, streams other than the one `Last-Event-ID` names restart this long before that
 * event's time: their events interleave with it only roughly, so a little is sent twice (clients
 * dedupe on `id`, as GitLab's at-least-once audit streaming expects) rather than lost.
 */
const RESUME_GRACE_MS = 5_000;

/** A replay that will never finish (a server that stopped answering) is abandoned after this, ms. */
const REPLAY_DEADLINE_MS = 15_000;

/** Per stream, the replay skipped older events than its bound allows. */
export type ReplayTruncation = { stream: string; replayed_from_seq: number };

export type ReplayItem =
  | { kind: "event"; live: LiveEvent }
  | { kind: "truncated"; truncation: ReplayTruncation };

/**
 * The events between `resumeAfter` and where the shared live feed took over (`liveFrom`), stream
 * by stream, at most `maxPerStream` read from each — the newest ones; when older ones are left
 * out, a `truncated` item says from where the replay starts, so the client knows to read the gap
 * from the audit log. Every item still passes the caller's per-event visibility check: the
 * replay reads the streams, not what the user may see.
 */
export async function* replayLiveEvents(
  bus: Bus,
  resumeAfter: StreamPosition,
  liveFrom: ReadonlyMap<string, number>,
  maxPerStream: number,
): AsyncGenerator<ReplayItem> {
  const resumeTime = await messageTime(bus, resumeAfter);
  if (resumeTime === null) return;
  const cutoff = resumeTime.getTime() - RESUME_GRACE_MS;
  for (const role of LIVE_ROLES) {
    const stream = bus.topology.streamNames[role];
    const until = liveFrom.get(stream);
    if (until === undefined) continue;
    const named = stream === resumeAfter.stream;
    const wantedFrom = named ? resumeAfter.seq + 1 : 1;
    const from = Math.max(wantedFrom, until - maxPerStream, 1);
    if (from >= until) continue;
    let first = true;
    for await (const live of readRange(bus, role, from, until)) {
      const storedAt = live.storedAtMs;
      if (first) {
        first = false;
        // Older events were left out when the bound moved the start and the window reaches it.
        const cutShort = named ? from > wantedFrom : from > 1 && storedAt >= cutoff;
        if (cutShort) yield { kind: "truncated", truncation: { stream, replayed_from_seq: from } };
      }
      if (!named && storedAt < cutoff) continue;
      yield { kind: "event", live: live.event };
    }
  }
}

type StoredLiveEvent = { event: LiveEvent; storedAtMs: number };

/**
 * Events of the `role` stream with `from ≤ seq < until`, through a short-lived ordered consumer;
 * only those that pass the projection's edge (`parseStoredEvent`: a type bound to the stream and
 * subject), as the live feed does.
 */
async function* readRange(
  bus: Bus,
  role: StreamRole,
  from: number,
  until: number,
): AsyncGenerator<StoredLiveEvent> {
  const stream = bus.topology.streamNames[role];
  const consumer = await bus.js.consumers.get(stream, {
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: from,
  });
  try {
    // Nothing left from `from` on (deleted heartbeats, say): consuming would wait for new ones.
    if ((await consumer.info(true)).num_pending === 0) return;
    const messages = await consumer.consume();
    const deadline = setTimeout(() => void messages.close(), REPLAY_DEADLINE_MS);
    try {
      for await (const message of messages) {
        if (message.seq >= until) break;
        const parsed = parseStoredEvent(message.data, {
          root: bus.topology.root,
          stream: role,
          subject: message.subject,
        });
        if (parsed.ok) {
          yield {
            event: { event: parsed.event, position: { stream, seq: message.seq } },
            storedAtMs: message.info.timestampNanos / 1_000_000,
          };
        }
        if (message.info.pending === 0 || message.seq + 1 >= until) break;
      }
    } finally {
      clearTimeout(deadline);
      await messages.close().catch(() => undefined);
    }
  } finally {
    await consumer.delete().catch(() => false);
  }
}

/** The time the named message was stored, or null when it is gone (or names no stream of ours). */
async function messageTime(bus: Bus, position: StreamPosition): Promise<Date | null> {
  const ours = LIVE_ROLES.some((role) => bus.topology.streamNames[role] === position.stream);
  if (!ours) return null;
  try {
    const stored = await bus.jsm.streams.getMessage(position.stream, { seq: position.seq });
    return stored?.time ?? null;
  } catch {
    return null;
  }
}
