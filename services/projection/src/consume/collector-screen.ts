import type { Bus, CheckpointedEvent, MessageMeta, ScreenVerdicts } from "@kasmap/bus";
import { EVENT_TYPES } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import type { Kysely } from "kysely";
import { agentIdOfSubject } from "../partitions/agent-partition.ts";
import type { CollectorLimits } from "../projection-env.ts";
import { AgentRateLimiter } from "./agent-rate-limiter.ts";
import {
  assertCollectorMayWrite,
  collectorVerdict,
  loadAgentStandings,
  unknownAgentStanding,
} from "./collector-standing.ts";
import { readPosition } from "./projection-positions.ts";
import type { UnknownAgentGrace } from "./unknown-agent-grace.ts";

/** The agent a collector event is about, or null for events of trusted services. */
export function collectorAgentOf({ event }: CheckpointedEvent): number | null {
  return event.type === EVENT_TYPES.clusterSnapshot || event.type === EVENT_TYPES.clusterHeartbeat
    ? event.data.agent_id
    : null;
}

/**
 * The limits the cluster and heartbeat consumers check before a message is parsed (`preScreen`
 * of the checkpointed consumer), from its subject, size and time alone, in this order: a message
 * on the cluster stream over `snapshotMaxBytes`; beyond `snapshotsPerMinute` (cluster stream) or
 * `heartbeatsPerMinute` (heartbeat stream) for the agent its subject names, in any 60 s of server
 * time. Every message on an agent's subjects counts, valid or not, so a flood over the limit is
 * refused without a parse each. Each refusal is dead-lettered with its reason. A subject that
 * names no agent is left to validation.
 */
export function createCollectorPreScreen(stream: "cluster" | "heartbeat", limits: CollectorLimits) {
  const limiter =
    stream === "cluster"
      ? new AgentRateLimiter(limits.snapshotsPerMinute, "snapshots")
      : new AgentRateLimiter(limits.heartbeatsPerMinute, "heartbeats");
  return function preScreen(meta: MessageMeta): string | undefined {
    if (stream === "cluster" && meta.bytes > limits.snapshotMaxBytes) {
      return `snapshot of ${meta.bytes} bytes is over the size limit of ${limits.snapshotMaxBytes} bytes`;
    }
    const agentId = agentIdOfSubject(meta.subject);
    if (agentId === undefined || limiter.admit(agentId, meta.seq, meta.storedAt)) return undefined;
    return limiter.refusal(agentId);
  };
}

/**
 * The check the cluster and heartbeat consumers make on a batch's valid events (`screen` of the
 * checkpointed consumer), after `createCollectorPreScreen`'s limits: an agent that is deleted or
 * whose tokens are all revoked (`collectorVerdict`) is refused, with the reason dead-lettered. An
 * event of an agent the read model does not know yet (or without a token yet) is left undecided
 * — the batch is committed up to it and read again from it — while it is younger than
 * `unknownAgentGraceMs` and so is the agent's grace (`UnknownAgentGrace`: counted from the first
 * time one of the agent's events waited, so a collector that keeps publishing cannot keep the
 * others waiting), or while the registry consumer has not caught up with its stream; after that
 * it is refused. An agent the read model knows ends its grace. An event stored after the
 * agent's deletion in force is refused at once while the registry consumer has caught up; while
 * it has not, the event waits like an unknown agent's (a revival may be still to apply).
 */
export function createCollectorScreen(
  bus: Bus,
  db: Kysely<ReadModelDatabase>,
  grace: UnknownAgentGrace,
  registryConsumer: string,
) {
  async function registryCaughtUp(): Promise<boolean> {
    const info = await bus.jsm.streams.info(bus.topology.streamNames.registry);
    const last = info.state.messages === 0 ? 0 : info.state.last_seq;
    return (await readPosition(db, registryConsumer)) >= last;
  }

  return async function screen(events: CheckpointedEvent[]): Promise<ScreenVerdicts> {
    const refused = new Map<number, string>();
    let undecided: ScreenVerdicts["undecided"];
    const collectorEvents = events.filter((e) => collectorAgentOf(e) !== null);
    const standings = await loadAgentStandings(
      db,
      collectorEvents.map((e) => collectorAgentOf(e) ?? 0),
    );
    let caughtUp: boolean | undefined;
    for (const item of collectorEvents) {
      const agentId = collectorAgentOf(item) ?? 0;
      const standing = standings.get(agentId) ?? unknownAgentStanding(agentId);
      const verdict = collectorVerdict(standing, item.meta.storedAt);
      if (verdict.kind === "deleted") {
        // A revival stored before the event may wait unapplied on the registry stream: the
        // event waits within the agent's grace while the registry consumer is behind.
        caughtUp ??= await registryCaughtUp();
        if (!caughtUp && undecided === undefined && grace.mayWait(agentId, item.meta.storedAt)) {
          undecided = { seq: item.meta.seq, reason: `waiting for the registry: ${verdict.reason}` };
        } else if (undecided === undefined) refused.set(item.meta.seq, verdict.reason);
        continue;
      }
      if (verdict.kind !== "wait") {
        grace.forget(agentId);
        if (verdict.kind === "refuse") refused.set(item.meta.seq, verdict.reason);
        continue;
      }
      // Asked for every waiting event, also past the undecided one: each unknown agent of the
      // batch starts its grace now, so several of them hold the others back together, once.
      const mayWait = grace.mayWait(agentId, item.meta.storedAt);
      if (undecided !== undefined) continue;
      if (!mayWait) caughtUp ??= await registryCaughtUp();
      if (mayWait || !caughtUp) {
        undecided = { seq: item.meta.seq, reason: `waiting for the registry: ${verdict.reason}` };
      } else {
        refused.set(
          item.meta.seq,
          `${verdict.reason} (its grace is over and the registry consumer has caught up)`,
        );
      }
    }
    return undecided === undefined ? { refused } : { refused, undecided };
  };
}

/**
 * The same standing check inside the batch's transaction (`db` is the transaction): the
 * registry consumer may have committed a deletion or revocation since the screen ran. A refusal
 * is a `poison_event` error, so the batch is applied event by event and the refused event
 * is dead-lettered.
 */
export async function assertCollectorsMayWrite(
  db: Kysely<ReadModelDatabase>,
  events: readonly CheckpointedEvent[],
): Promise<void> {
  const collectorEvents = events.filter((e) => collectorAgentOf(e) !== null);
  if (collectorEvents.length === 0) return;
  const standings = await loadAgentStandings(
    db,
    collectorEvents.map((e) => collectorAgentOf(e) ?? 0),
  );
  for (const item of collectorEvents) {
    const agentId = collectorAgentOf(item) ?? 0;
    assertCollectorMayWrite(standings.get(agentId) ?? unknownAgentStanding(agentId), item.meta.storedAt);
  }
}
