import type { AgentGrantSet, AgentTokenKind, DroppedEntry, NamespaceKind } from "@kasmap/contracts";
import type { ColumnType, Generated, Kysely, Transaction } from "kysely";

/**
 * Kysely types of the `authz` schema. Timestamps are read back as `Date` (node-postgres'
 * parsing) and written as `Date` or ISO strings; bigint ids come back as numbers (libs/db).
 */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** jsonb: read as the parsed value, written as JSON text. */
type Json<T> = ColumnType<T, string, string>;

/** Written only for personal namespaces; groups take the column defaults. */
type NamespaceKindColumn = ColumnType<NamespaceKind, NamespaceKind | undefined, NamespaceKind>;
type OwnerIdColumn = ColumnType<number | null, number | null | undefined, number | null>;

export type JobEnvironment = { name: string; tier: string; slug: string };

export type AuthzDatabase = {
  "authz.users": {
    id: Generated<number>;
    username: string;
    name: string;
    is_admin: boolean;
    state: "active" | "blocked";
    created_at: Timestamp;
  };
  "authz.groups": {
    id: Generated<number>;
    kind: NamespaceKindColumn;
    owner_id: OwnerIdColumn;
    name: string;
    path: string;
    description: string | null;
    parent_id: number | null;
    traversal_ids: number[];
    full_path: string;
    full_name: string;
    created_at: Timestamp;
    mirrored_at: NullableTimestamp;
  };
  "authz.projects": {
    id: Generated<number>;
    name: string;
    path: string;
    description: string | null;
    namespace_id: number;
    traversal_ids: number[];
    path_with_namespace: string;
    name_with_namespace: string;
    creator_id: number | null;
    created_at: Timestamp;
    mirrored_at: NullableTimestamp;
  };
  "authz.memberships": {
    id: Generated<number>;
    user_id: number;
    source_type: "group" | "project";
    source_id: number;
    access_level: number;
  };
  "authz.personal_access_tokens": {
    id: Generated<number>;
    user_id: number;
    name: string;
    token_sha256: string;
    scopes: string[];
    revoked: boolean;
    expires_at: string | null;
    created_at: Timestamp;
  };
  "authz.agents": {
    id: Generated<number>;
    name: string;
    project_id: number;
    created_at: Timestamp;
    created_by_user_id: number | null;
    deleted_at: NullableTimestamp;
    mirrored_at: NullableTimestamp;
    mirror_config_sha256: ColumnType<string | null, string | null | undefined, string | null>;
    /** Migration 010: how many times the agent was deleted (counted since that migration). */
    deletions: Generated<number>;
  };
  "authz.agent_tokens": {
    id: Generated<number>;
    agent_id: number;
    /** Migration 006: `agent` (glagent-) or `collector` (kmcol-). */
    kind: ColumnType<AgentTokenKind, AgentTokenKind | undefined, AgentTokenKind>;
    name: string;
    description: string | null;
    status: "active" | "revoked";
    token_sha256: string;
    created_at: Timestamp;
    created_by_user_id: number | null;
    last_used_at: NullableTimestamp;
    /** Migration 009: a GitLab-verified token's record counts until then (GitLab's yes + TTL); null for Kasmap's own tokens. */
    lease_expires_at: NullableTimestamp;
    /** Migration 009: when the lapse sweep revoked the record; only such a record GitLab's yes revives. */
    lapsed_at: NullableTimestamp;
  };
  "authz.agent_configs": {
    agent_id: number;
    yaml: string;
    grants: Json<AgentGrantSet>;
    /** The first 100 dropped entries; `dropped_count` says how many there were. */
    dropped: Json<DroppedEntry[]>;
    dropped_count: number;
    updated_at: Timestamp;
  };
  "authz.agent_grant_targets": {
    agent_id: number;
    target_type: "project" | "group";
    target_id: number;
  };
  "authz.agent_config_paths": {
    agent_id: number;
    target_type: "project" | "group";
    lower_path: string;
  };
  "authz.jobs": {
    id: Generated<number>;
    project_id: number;
    pipeline_id: number;
    user_id: number;
    ref: string;
    ref_protected: boolean | null;
    environment: Json<JobEnvironment | null>;
    status: "running" | "finished";
    token_sha256: string;
    created_at: Timestamp;
  };
  "authz.outbox": {
    id: Generated<number>;
    event: Json<unknown>;
    created_at: Timestamp;
    published_at: NullableTimestamp;
    stream: string | null;
    seq: number | null;
    /** Set when the row can never be published; it is then skipped (see outbox.ts). */
    set_aside_at: NullableTimestamp;
    set_aside_reason: string | null;
  };
};

export type AuthzDb = Kysely<AuthzDatabase>;
export type AuthzTx = Transaction<AuthzDatabase>;
/** Either the pool or a transaction: reads work on both. */
export type AuthzExecutor = Kysely<AuthzDatabase>;
