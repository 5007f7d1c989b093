import type { CheckpointedEvent } from "@kasmap/bus";
import type {
  EVENT_TYPES,
  KasmapEventOf,
  ReadModelNotice,
  StreamPosition,
  Topology,
} from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import type { Kysely } from "kysely";
import { queueAlerts } from "../alerts/alert-outbox.ts";
import { writeHeartbeats } from "../apply/heartbeat-batch-writes.ts";
import { insertAuditDrafts } from "../audit/audit-event-store.ts";
import { type AuditEventDraft, auditEventsFor, NO_PREVIOUS_STATE } from "../audit/audit-events.ts";
import { changeNoticesFor } from "../notify/change-notices.ts";
import { assertCollectorMayWrite, unknownAgentStanding } from "./collector-standing.ts";
import {
  type HeartbeatStateRow,
  heartbeatAgentStates,
  heartbeatStateColumns,
  heartbeatStateJoins,
} from "./heartbeat-batch-state.ts";

export type HeartbeatEvent = KasmapEventOf<typeof EVENT_TYPES.clusterHeartbeat>;
export type StoredHeartbeat = { event: HeartbeatEvent; meta: CheckpointedEvent["meta"] };

/**
 * Applies a run of heartbeats (in stream order, inside the batch's transaction, after its agent
 * locks) set-based, with the effect of `applyClusterHeartbeat` + the audit log event by event.
 * The run is dealt into rounds that hold each agent once (`agentRounds`): a heartbeat's audit
 * events compare with the state its agent's previous heartbeat left (its last heartbeat, its
 * collectors), and one upsert may not touch a row twice. Per round, ONE statement writes the
 * connections and returns every agent's state as it was before (standing, project, last
 * heartbeat, collectors where a conflict can come of them: `heartbeatStateColumns`) — two when
 * a collector row was added — and the decisions are made in memory (a refusal throws, and the
 * transaction takes the writes back); the run's audit events and the alerts they raise are
 * written at its end in stream order, one statement each. A batch holds an agent about as often
 * as it has collectors (agentk runs two replicas), so a backlog of heartbeats is a handful of
 * statements, not a dozen per heartbeat. Throws as `assertCollectorMayWrite` does.
 */
export async function projectHeartbeatBatch(
  db: Kysely<ReadModelDatabase>,
  topology: Topology,
  stream: string,
  items: readonly StoredHeartbeat[],
): Promise<ReadModelNotice[]> {
  const drafts: { draft: AuditEventDraft; position: StreamPosition }[] = [];
  const notices: ReadModelNotice[] = [];
  for (const round of agentRounds(items)) {
    // The state each heartbeat's audit events compare with, read as the round is written.
    const states = heartbeatAgentStates(
      await writeHeartbeats<HeartbeatStateRow>(
        db,
        round.map(({ event }) => event.data),
        { columns: heartbeatStateColumns, joins: heartbeatStateJoins },
      ),
    );
    for (const { event, meta } of round) {
      const agentId = event.data.agent_id;
      const state = states.get(agentId) ?? {
        standing: unknownAgentStanding(agentId),
        previous: NO_PREVIOUS_STATE,
      };
      assertCollectorMayWrite(state.standing, meta.storedAt);
      const position = { stream, seq: meta.seq };
      for (const draft of auditEventsFor(event, state.previous)) drafts.push({ draft, position });
      notices.push(...changeNoticesFor(event, position));
    }
  }
  // Written in stream order, as one by one would (a stable sort keeps an event's drafts in order).
  drafts.sort((a, b) => a.position.seq - b.position.seq);
  await insertAuditDrafts(db, drafts);
  await queueAlerts(
    db,
    topology,
    drafts.map(({ draft }) => draft),
  );
  return notices.sort((a, b) => a.seq - b.seq);
}

/**
 * The heartbeats dealt into rounds: round k holds each agent's k-th heartbeat of the run, in
 * stream order. An agent's heartbeats stay in order across rounds; agents do not share state, so
 * one agent's heartbeat may be applied before another's that the stream holds first.
 */
export function agentRounds<T extends { event: { data: { agent_id: number } } }>(items: readonly T[]): T[][] {
  const rounds: T[][] = [];
  const seen = new Map<number, number>();
  for (const item of items) {
    const agentId = item.event.data.agent_id;
    const index = seen.get(agentId) ?? 0;
    seen.set(agentId, index + 1);
    let round = rounds[index];
    if (!round) {
      round = [];
      rounds.push(round);
    }
    round.push(item);
  }
  return rounds;
}
