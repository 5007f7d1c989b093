import { z } from "zod";
import type { StreamPosition } from "./commands.ts";
import { EVENT_TYPES, type KasmapEvent } from "./events.ts";

/**
 * Read model tables (in PostgreSQL schema `read_model`) that a change notice can name. The
 * projection publishes one notice per table a commit touched.
 */
export const READ_MODEL_TABLES = [
  "groups",
  "projects",
  "users",
  "memberships",
  "personal_access_tokens",
  "agents",
  "agent_tokens",
  "jobs",
  "cluster_snapshots",
  "cluster_snapshot_history",
  "agent_connections",
  "ci_access_project_authorizations",
  "ci_access_group_authorizations",
  "user_access_project_authorizations",
  "user_access_group_authorizations",
  "agent_authorization_reports",
] as const;
export const ReadModelTableSchema = z.enum(READ_MODEL_TABLES);
export type ReadModelTable = z.infer<typeof ReadModelTableSchema>;

const Id = z.number().int().positive();

/**
 * Core-NATS notice on `<root>.readmodel.changed.<table>` (`topology.subjects.readModelChanged`),
 * published by the projection after the transaction that applied stream message `stream`/`seq`
 * committed. Ids name the rows whose cached views are stale (absent = not tied to one such id).
 * Core NATS may lose a notice: readers that must see a write wait until `seq` has passed in
 * `read_model.projection_positions`, and keep cache lifetimes short.
 *
 * Wire form: `{"table":"agents","agent_id":7,"project_id":3,"stream":"KASMAP_REGISTRY","seq":42}`
 */
export const ReadModelNoticeSchema = z.object({
  table: ReadModelTableSchema,
  agent_id: Id.optional(),
  project_id: Id.optional(),
  group_id: Id.optional(),
  user_id: Id.optional(),
  /** JetStream stream name the applied message came from, as in command reply positions. */
  stream: z.string().min(1),
  /** Stream sequence of the applied message. */
  seq: z.number().int().positive(),
});
export type ReadModelNotice = z.infer<typeof ReadModelNoticeSchema>;

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
