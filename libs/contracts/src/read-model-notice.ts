import { z } from "zod";

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
