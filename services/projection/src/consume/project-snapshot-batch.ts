import type { CheckpointedEvent } from "@kasmap/bus";
import type { ClusterFacts, EVENT_TYPES, KasmapEventOf, ReadModelNotice, Topology } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import type { Kysely } from "kysely";
import { queueAlerts } from "../alerts/alert-outbox.ts";
import {
  type AddressChanges,
  addressChanges,
  addressRowsFor,
  type ClusterAddressRow,
} from "../apply/cluster-addresses.ts";
import {
  applyAddressChanges,
  replaceAddressesOf,
  type SnapshotRowInput,
  writeSnapshots,
} from "../apply/snapshot-batch-writes.ts";
import { insertAuditDrafts } from "../audit/audit-event-store.ts";
import { type AuditEventDraft, auditEventsFor, NO_PREVIOUS_STATE } from "../audit/audit-events.ts";
import { changeNoticesFor } from "../notify/change-notices.ts";
import { assertCollectorMayWrite, unknownAgentStanding } from "./collector-standing.ts";
import { loadSnapshotAgentStates, type SnapshotAgentState } from "./snapshot-batch-state.ts";

export type SnapshotEvent = KasmapEventOf<typeof EVENT_TYPES.clusterSnapshot>;
export type StoredSnapshot = { event: SnapshotEvent; meta: CheckpointedEvent["meta"] };

/** An agent the read model does not know: its standing says "wait". */
function unknownAgent(agentId: number): SnapshotAgentState {
  return { standing: unknownAgentStanding(agentId), agent: null, entity: null, latest: null };
}

/**
 * Whether the snapshot at stream sequence `seq` was applied before: the agent's latest snapshot
 * (`read_model.cluster_snapshots.stream_seq`, the highest sequence of the cluster stream applied
 * for it, whichever partition or layout applied it) is at or past it. An agent's snapshots are
 * applied in stream order (all in one partition), so a lower sequence comes only again: a
 * redelivery, or a partition re-reading from an older checkpoint after the partition count
 * changed. Its audit events were written the first time, compared with the facts before it;
 * compared with the newer latest it would record a transition that never happened, under a new
 * event id when the first application yielded none (the unique `event_id` absorbs only the same).
 */
function appliedBefore(state: SnapshotAgentState, seq: number): boolean {
  return state.latest !== null && seq <= state.latest.seq;
}

/**
 * Applies a run of snapshots (in stream order, inside the batch's transaction, after its agent
 * locks) set-based, with the effect of `applyClusterSnapshot` + the audit log event by event:
 * one statement reads every agent's state (standing, previous facts, project); the decisions
 * are made in memory in stream order, each snapshot compared with the one before it (one applied
 * before, at or below its agent's latest, `appliedBefore`, is audited and indexed no more: it
 * only meets its history row again); then one
 * statement writes history and latest facts, one or two the addresses of each agent's new latest
 * (only the rows that changed, found in memory by comparing it with the latest its rows were
 * written from, `addressChanges`; all of them for an agent's first snapshot; never for a
 * deleted agent), one the audit events, one the alerts
 * they raise (the alert outbox, `queueAlerts`). Throws as `assertCollectorsMayWrite` does: `poison_event` for an agent deleted
 * or without a valid token since the screen ran, a plain error when it is unknown again.
 */
export async function projectSnapshotBatch(
  db: Kysely<ReadModelDatabase>,
  topology: Topology,
  stream: string,
  items: readonly StoredSnapshot[],
): Promise<ReadModelNotice[]> {
  const states = await loadSnapshotAgentStates(
    db,
    items.map(({ event }) => event.data.agent_id),
  );
  // Agents whose latest snapshot this batch replaces: their addresses follow it, from the facts
  // their rows were written from (the latest before the batch; null: none, so none written).
  const replaced = new Map<number, ClusterFacts | null>();
  const snapshots: SnapshotRowInput[] = [];
  const drafts: { draft: AuditEventDraft; position: { stream: string; seq: number } }[] = [];
  const notices: ReadModelNotice[] = [];
  for (const { event, meta } of items) {
    const agentId = event.data.agent_id;
    let state = states.get(agentId);
    if (!state) {
      state = unknownAgent(agentId);
      states.set(agentId, state);
    }
    assertCollectorMayWrite(state.standing, meta.storedAt);
    const position = { stream, seq: meta.seq };
    if (!appliedBefore(state, meta.seq)) {
      // The audit log compares with the latest facts before this snapshot.
      const previous = { ...NO_PREVIOUS_STATE, agent: state.agent, entity: state.entity };
      for (const draft of auditEventsFor(event, { ...previous, snapshot: state.latest?.facts ?? null })) {
        drafts.push({ draft, position });
      }
      if (!replaced.has(agentId)) replaced.set(agentId, state.latest?.facts ?? null);
      state.latest = { seq: meta.seq, facts: event.data.cluster };
    }
    snapshots.push({
      agent_id: agentId,
      content_hash: event.data.content_hash,
      cluster: JSON.stringify(event.data.cluster),
      observed_at: event.data.cluster.observed_at,
      stream_seq: meta.seq,
    });
    notices.push(...changeNoticesFor(event, position));
  }
  // Nor may a late snapshot of a deleted agent put it back into reverse lookups.
  const firstIndexed: number[] = [];
  const firstRows: ClusterAddressRow[] = [];
  const changes: AddressChanges = { removed: [], added: [] };
  for (const [id, before] of replaced) {
    const state = states.get(id);
    if (!state?.latest || state.standing.deletedAt !== null) continue;
    if (before === null) {
      firstIndexed.push(id);
      firstRows.push(...addressRowsFor(id, state.latest.facts));
    } else {
      const changed = addressChanges(id, before, state.latest.facts);
      changes.removed.push(...changed.removed);
      changes.added.push(...changed.added);
    }
  }
  await writeSnapshots(db, snapshots);
  await replaceAddressesOf(db, firstIndexed, firstRows);
  await applyAddressChanges(db, changes);
  await insertAuditDrafts(db, drafts);
  await queueAlerts(
    db,
    topology,
    drafts.map(({ draft }) => draft),
  );
  return notices;
}
