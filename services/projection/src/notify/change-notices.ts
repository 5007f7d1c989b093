import type { Bus } from "@kasmap/bus";
import type { StreamPosition } from "@kasmap/contracts";
import {
  EVENT_TYPES,
  type KasmapEvent,
  type ReadModelNotice,
  ReadModelNoticeSchema,
  type ReadModelTable,
} from "@kasmap/contracts";

type NoticeIds = Pick<ReadModelNotice, "agent_id" | "project_id" | "group_id" | "user_id">;

const AUTHORIZATION_TABLES: readonly ReadModelTable[] = [
  "ci_access_project_authorizations",
  "ci_access_group_authorizations",
  "user_access_project_authorizations",
  "user_access_group_authorizations",
  "agent_authorization_reports",
];

/** The tables an event changes (or may change) and the ids whose cached views it makes stale. */
export function changedTablesOf(event: KasmapEvent): { tables: readonly ReadModelTable[]; ids: NoticeIds } {
  switch (event.type) {
    case EVENT_TYPES.groupChanged:
      return { tables: ["groups"], ids: { group_id: event.data.group.id } };
    case EVENT_TYPES.projectChanged:
      return { tables: ["projects"], ids: { project_id: event.data.project.id } };
    case EVENT_TYPES.userChanged:
      return { tables: ["users"], ids: { user_id: event.data.user.id } };
    case EVENT_TYPES.membershipChanged: {
      const m = event.data.membership;
      const source = m.source_type === "project" ? { project_id: m.source_id } : { group_id: m.source_id };
      return { tables: ["memberships"], ids: { user_id: m.user_id, ...source } };
    }
    case EVENT_TYPES.personalAccessTokenChanged:
      return { tables: ["personal_access_tokens"], ids: { user_id: event.data.token.user_id } };
    case EVENT_TYPES.agentChanged: {
      const agent = event.data.agent;
      const tables: readonly ReadModelTable[] =
        agent.deleted_at === null ? ["agents"] : ["agents", ...AUTHORIZATION_TABLES];
      return { tables, ids: { agent_id: agent.id, project_id: agent.project_id } };
    }
    case EVENT_TYPES.agentTokenChanged:
      return { tables: ["agent_tokens"], ids: { agent_id: event.data.token.agent_id } };
    case EVENT_TYPES.jobChanged:
      return {
        tables: ["jobs"],
        ids: { project_id: event.data.job.project_id, user_id: event.data.job.user_id },
      };
    case EVENT_TYPES.authzChanged:
      return {
        tables: AUTHORIZATION_TABLES,
        ids: { agent_id: event.data.agent_id, project_id: event.data.config_project_id },
      };
    case EVENT_TYPES.clusterSnapshot:
      return {
        tables: ["cluster_snapshots", "cluster_snapshot_history"],
        ids: { agent_id: event.data.agent_id },
      };
    case EVENT_TYPES.clusterHeartbeat:
      return { tables: ["agent_connections"], ids: { agent_id: event.data.agent_id } };
    case EVENT_TYPES.agentChangeRefused:
      // Only an audit row: no cached view of the read model changes.
      return { tables: [], ids: {} };
    case EVENT_TYPES.alertClusterChanged:
    case EVENT_TYPES.alertClusterConflict:
      // The projection raises alerts; no read-model table follows them.
      return { tables: [], ids: {} };
  }
}

/** One notice per changed table, each naming the applied stream position. */
export function changeNoticesFor(event: KasmapEvent, position: StreamPosition): ReadModelNotice[] {
  const { tables, ids } = changedTablesOf(event);
  return tables.map((table) => ({ table, ...ids, stream: position.stream, seq: position.seq }));
}

const encoder = new TextEncoder();

/**
 * Publishes notices on core NATS, `<root>.readmodel.changed.<table>`, after the commit. Core
 * NATS is fire-and-forget: a lost notice only delays a cache drop (readers that must see a
 * write wait for the position instead), so failures here never undo or retry the commit.
 */
export function publishChangeNotices(bus: Bus, notices: readonly ReadModelNotice[]): void {
  for (const notice of notices) {
    const body = ReadModelNoticeSchema.parse(notice);
    bus.nc.publish(bus.topology.subjects.readModelChanged(body.table), encoder.encode(JSON.stringify(body)));
  }
}

/**
 * One notice per table and ids within a batch, the last one (highest sequence) kept: a reader
 * drops the same cache entries whichever of them it receives.
 */
export function dedupeChangeNotices(notices: readonly ReadModelNotice[]): ReadModelNotice[] {
  const latest = new Map<string, ReadModelNotice>();
  for (const notice of notices) {
    const { stream: _stream, seq: _seq, ...key } = notice;
    const id = JSON.stringify(Object.entries(key).sort(([a], [b]) => a.localeCompare(b)));
    // Map.set on a known key keeps the key's place: the order of first appearance holds.
    latest.set(id, notice);
  }
  return [...latest.values()];
}
