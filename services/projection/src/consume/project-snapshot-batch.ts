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
 * Applies a run of snapshots (in stream order, inside the batch's transaction, after its agent
 * locks) set-based, with the effect of `applyClusterSnapshot` + the audit log event by event:
 * one statement reads every agent's state (standing, previous facts, project); the decisions
 * are made in memory in stream order, each snapshot compared with the one before it; then one
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
    // The audit log compares with the latest facts before this snapshot.
    const previous = { ...NO_PREVIOUS_STATE, agent: state.agent, entity: state.entity };
    for (const draft of auditEventsFor(event, { ...previous, snapshot: state.latest?.facts ?? null })) {
      drafts.push({ draft, position });
    }
    if (state.latest === null || meta.seq > state.latest.seq) {
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
