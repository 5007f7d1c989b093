import { type Bus, parseStoredEvent } from "@kasmap/bus";
import type { KasmapEvent, StreamRole } from "@kasmap/contracts";
import {
  type Consumer,
  type ConsumerMessages,
  DeliverPolicy,
  type OrderedConsumerOptions,
} from "@nats-io/jetstream";
import type { StreamPosition } from "../http/sse-framing.ts";

/** The streams a live subscriber follows (dead letters are an operator's business, not a feed). */
const LIVE_ROLES = ["registry", "authz", "cluster", "heartbeat"] as const satisfies readonly StreamRole[];

/**
 * On resume, streams other than the one `Last-Event-ID` names restart this long before that
 * event's time: their events interleave with it only roughly, so a little is sent twice (clients
 * dedupe on `id`, as GitLab's at-least-once audit streaming expects) rather than lost.
 */
const RESUME_GRACE_MS = 5_000;

/** How long the server keeps a live consumer nobody pulls from (a gateway that died), ms. */
const INACTIVE_THRESHOLD_MS = 60_000;

export type LiveEvent = { event: KasmapEvent; position: StreamPosition };

export type LiveEventsOptions = {
  /** null = from now; otherwise after this position (and, on the other streams, from its time). */
  resumeAfter: StreamPosition | null;
  /** Only this agent's events where the subject says so (registry events are filtered later). */
  agentId?: number;
};

export type LiveEventsFollower = { stop(): Promise<void> };

/**
 * Follows the streams with one ordered consumer each (ephemeral, no acks, recreated by the
 * client at the right sequence after a gap) and calls `onEvent` for every valid event. Messages
 * that fail the schema are skipped: the projection dead-letters them, a live feed just moves on.
 */
export async function followLiveEvents(
  bus: Bus,
  options: LiveEventsOptions,
  onEvent: (live: LiveEvent) => void,
): Promise<LiveEventsFollower> {
  const starts = await startPositions(bus, options.resumeAfter);
  const running: Running[] = [];
  try {
    for (const role of LIVE_ROLES) {
      const stream = bus.topology.streamNames[role];
      const filter = subjectFilter(bus, role, options.agentId);
      const consumer = await bus.js.consumers.get(stream, {
        ...(starts.get(role) ?? {}),
        ...(filter ? { filter_subjects: filter } : {}),
        // Milliseconds; the server drops the consumer this long after a gateway vanished.
        inactive_threshold: INACTIVE_THRESHOLD_MS,
      });
      const messages = await consumer.consume();
      running.push({ consumer, messages });
      void forwardMessages(bus, role, messages, onEvent);
    }
  } catch (error) {
    // A stream that could not be followed: free the consumers already made, then fail.
    await stopAll(running);
    throw error;
  }
  return { stop: () => stopAll(running) };
}

type Running = { consumer: Consumer; messages: ConsumerMessages };

/**
 * Forwards the events that pass the same edge as the projection's (`parseStoredEvent`): a type
 * bound to this stream and subject, with the id the subject names. A registry event a collector
 * forged onto its snapshot subject never reaches a live subscriber (issue 7.1).
 */
async function forwardMessages(
  bus: Bus,
  role: StreamRole,
  messages: ConsumerMessages,
  onEvent: (live: LiveEvent) => void,
): Promise<void> {
  const stream = bus.topology.streamNames[role];
  try {
    for await (const message of messages) {
      const parsed = parseStoredEvent(message.data, {
        root: bus.topology.root,
        stream: role,
        subject: message.subject,
      });
      if (parsed.ok) onEvent({ event: parsed.event, position: { stream, seq: message.seq } });
    }
  } catch {
    // The iterator ends with an error when the connection closes under it; stop() follows.
  }
}

/** Closing only stops pulling; deleting frees the server-side consumer at once. */
async function stopAll(running: readonly Running[]): Promise<void> {
  await Promise.all(
    running.map(async ({ consumer, messages }) => {
      await messages.close().catch(() => undefined);
      await consumer.delete().catch(() => false);
    }),
  );
}

type StartOptions = Partial<
  Pick<OrderedConsumerOptions, "deliver_policy" | "opt_start_seq" | "opt_start_time">
>;

/**
 * Where each stream starts. "Now" is the stream's next sequence, not `DeliverPolicy.New`: an
 * ordered consumer recreated before its first message would otherwise restart at sequence 1.
 */
async function startPositions(
  bus: Bus,
  resumeAfter: StreamPosition | null,
): Promise<Map<StreamRole, StartOptions>> {
  const starts = new Map<StreamRole, StartOptions>();
  const resumeTime = resumeAfter ? await messageTime(bus, resumeAfter) : null;
  for (const role of LIVE_ROLES) {
    const stream = bus.topology.streamNames[role];
    if (resumeAfter?.stream === stream) {
      starts.set(role, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: resumeAfter.seq + 1 });
    } else if (resumeTime !== null) {
      const from = new Date(resumeTime.getTime() - RESUME_GRACE_MS).toISOString();
      starts.set(role, { deliver_policy: DeliverPolicy.StartTime, opt_start_time: from });
    } else {
      const info = await bus.jsm.streams.info(stream);
      starts.set(role, {
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: info.state.last_seq + 1,
      });
    }
  }
  return starts;
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

function subjectFilter(
  bus: Bus,
  role: (typeof LIVE_ROLES)[number],
  agentId: number | undefined,
): string | null {
  if (agentId === undefined) return null;
  const subjects = bus.topology.subjects;
  if (role === "cluster") return subjects.clusterSnapshot(agentId);
  if (role === "heartbeat") return subjects.clusterHeartbeat(agentId);
  if (role === "authz") return subjects.authzChanged(agentId);
  return null;
}
