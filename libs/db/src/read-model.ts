import { type AgentTokenKind, READ_MODEL_TABLES } from "@kasmap/contracts";
import type { ColumnType } from "kysely";

/** The read model's PostgreSQL schema. The projection owns it; the gateway only reads it. */
export const READ_MODEL_SCHEMA = "read_model";

/**
 * Kysely types of the read model (`read_model` schema). Timestamps are written as ISO strings
 * and read back as `Date` (node-postgres' default parsing).
 */
type Timestamp = ColumnType<Date, string | Date, string | Date>;
type NullableTimestamp = ColumnType<Date | null, string | Date | null, string | Date | null>;
type Json<T> = ColumnType<T, string, string>;
/** A nullable jsonb column: SQL NULL (not JSON `null`) when absent. */
type NullableJson<T> = ColumnType<T | null, string | null, string | null>;

/** Written only for personal namespaces; groups take the column defaults. */
type NamespaceKindColumn = ColumnType<"group" | "user", "group" | "user" | undefined, "group" | "user">;
type OwnerIdColumn = ColumnType<number | null, number | null | undefined, number | null>;

export type ReadModelDatabase = {
  /** Namespaces: groups and, with `kind = 'user'`, personal namespaces (GitLab's `namespaces`). */
  "read_model.groups": {
    id: number;
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
  };
  "read_model.projects": {
    id: number;
    name: string;
    path: string;
    description: string | null;
    namespace_id: number;
    traversal_ids: number[];
    path_with_namespace: string;
    name_with_namespace: string;
    creator_id: number | null;
    created_at: Timestamp;
  };
  "read_model.users": {
    id: number;
    username: string;
    name: string;
    is_admin: boolean;
    state: string;
    created_at: Timestamp;
  };
  "read_model.personal_access_tokens": {
    id: number;
    user_id: number;
    name: string;
    token_sha256: string;
    scopes: string[];
    revoked: boolean;
    expires_at: ColumnType<string | null, string | null, string | null>;
    created_at: Timestamp;
  };
  "read_model.memberships": {
    id: number;
    user_id: number;
    source_type: "group" | "project";
    source_id: number;
    access_level: number;
  };
  "read_model.agents": {
    id: number;
    name: string;
    project_id: number;
    created_at: Timestamp;
    created_by_user_id: number | null;
  };
  "read_model.agent_tokens": {
    id: number;
    agent_id: number;
    /** Migration 017: `agent` or `collector` (issue 9 item 5). */
    kind: ColumnType<AgentTokenKind, AgentTokenKind | undefined, AgentTokenKind>;
    name: string;
    description: string | null;
    status: "active" | "revoked";
    token_sha256: string;
    created_at: Timestamp;
    created_by_user_id: number | null;
    last_used_at: NullableTimestamp;
    /** When the projection first saw the token revoked (migration 016); null while active. */
    revoked_at: ColumnType<Date | null, string | Date | null | undefined, string | Date | null>;
  };
  "read_model.cluster_snapshots": {
    agent_id: number;
    content_hash: string;
    cluster: Json<unknown>;
    observed_at: Timestamp;
    stream_seq: number;
  };
  "read_model.cluster_snapshot_history": {
    agent_id: number;
    stream_seq: number;
    content_hash: string;
    cluster: Json<unknown>;
    observed_at: Timestamp;
  };
  /** Migration 011: one row per address or range of an agent's latest snapshot (`inet`, as text). */
  "read_model.cluster_addresses": {
    agent_id: number;
    /** The fact it came from: `node_ips.internal`, `node_ips.external`, `api_endpoint_ip`, … */
    field: string;
    address: string;
  };
  /**
   * Agents deleted at some point (migration 015): late events on other streams leave no rows for
   * them. Migration 026: the deletion's whole episode, for an agent that comes back (each column
   * written by the consumer of one stream; see the projection's apply-authz-event.ts).
   */
  "read_model.deleted_agents": {
    agent_id: number;
    /** The registry's `deleted_at` of the agent; null while only its empty grant set was applied. */
    deleted_at: NullableTimestamp;
    /**
     * Migration 027: the number of that deletion (`Agent.deletion`, authz counts each agent's
     * deletions); null when unknown (an authz that predates the count, or a tombstone from before).
     */
    deletion: ColumnType<number | null, number | null | undefined, number | null>;
    /** When the server stored the registry event that brought the agent back; null while deleted. */
    revived_at: ColumnType<Date | null, string | Date | null | undefined, string | Date | null>;
    /** The `time` of the agent's `agent_deleted` grant set applied for this deletion. */
    grants_cleared_at: ColumnType<Date | null, string | Date | null | undefined, string | Date | null>;
    /** Migration 027: that grant set's `deletion` number; null when unknown (as `deletion`). */
    grants_cleared_deletion: ColumnType<number | null, number | null | undefined, number | null>;
    /** The latest grant set after it (`AgentGrantSet`), with its dropped entries and its time. */
    held_grants: ColumnType<unknown, string | null | undefined, string | null>;
    held_dropped: ColumnType<unknown, string | null | undefined, string | null>;
    held_at: ColumnType<Date | null, string | Date | null | undefined, string | Date | null>;
    /**
     * The deletions the agent came back from before this one, oldest first, the newest 100:
     * `[{ from, until }]` (`deleted_at` and `revived_at` of each, as JSON times); null: none.
     */
    past_deletions: ColumnType<unknown, string | null | undefined, string | null>;
  };
  "read_model.agent_connections": {
    agent_id: number;
    collector_id: string;
    last_heartbeat_at: Timestamp;
    /** The collector's last reported content hash (migration 002); null before its first snapshot. */
    content_hash: ColumnType<string | null, string | null | undefined, string | null>;
    /**
     * When the sweeper recorded `cluster_agent_disconnected` for the current `last_heartbeat_at`
     * (migration 014); null while connected or not reported yet. A heartbeat clears it.
     */
    disconnected_reported_at: ColumnType<Date | null, string | Date | null | undefined, string | Date | null>;
  };
  /**
   * One row per collector of an agent (migration 018), from its heartbeats: who it is and when
   * it connected. Live while `last_heartbeat_at` is younger than `CONNECTED_WITHIN_MS` and
   * `stopped_at` is null; decided at read time, rows are never deleted for going quiet.
   */
  "read_model.collector_connections": {
    agent_id: number;
    collector_id: string;
    pod_name: string | null;
    pod_ip: string | null;
    namespace: string | null;
    node: string | null;
    version: string | null;
    commit: string | null;
    /** The first heartbeat after a silence longer than `CONNECTED_WITHIN_MS` (or after a stop). */
    connected_at: Timestamp;
    last_heartbeat_at: Timestamp;
    stopped_at: ColumnType<Date | null, string | Date | null | undefined, string | Date | null>;
    /** The collector's cluster (kube-system Namespace UID) from its latest heartbeat; null: unknown. */
    cluster_uid: ColumnType<string | null, string | null | undefined, string | null>;
  };
  "read_model.ci_access_project_authorizations": {
    agent_id: number;
    project_id: number;
    config: Json<unknown>;
  };
  "read_model.ci_access_group_authorizations": { agent_id: number; group_id: number; config: Json<unknown> };
  /**
   * The group rule resolved per namespace (migration 023, kept by triggers on groups, projects,
   * agents and ci_access_group_authorizations): the agent's innermost authorized ancestor group
   * and its configuration project, for agents whose configuration project shares the root.
   */
  "read_model.ci_access_namespace_grants": {
    namespace_id: number;
    agent_id: number;
    via_group_id: number;
    config: Json<unknown>;
    agent_name: string;
    cp_id: number;
    cp_name: string;
    cp_path: string;
    cp_description: string | null;
    cp_path_with_namespace: string;
    cp_name_with_namespace: string;
    cp_namespace_id: number;
    cp_traversal_ids: number[];
    cp_creator_id: number | null;
    cp_created_at: Timestamp;
  };
  "read_model.user_access_project_authorizations": {
    agent_id: number;
    project_id: number;
    config: Json<unknown>;
  };
  "read_model.user_access_group_authorizations": {
    agent_id: number;
    group_id: number;
    config: Json<unknown>;
  };
  "read_model.agent_authorization_reports": {
    agent_id: number;
    dropped: Json<unknown>;
    updated_at: Timestamp;
  };
  "read_model.jobs": {
    id: number;
    project_id: number;
    pipeline_id: number;
    user_id: number;
    ref: string;
    ref_protected: boolean | null;
    environment: NullableJson<unknown>;
    status: string;
    token_sha256: string;
    created_at: Timestamp;
  };
  "read_model.projection_positions": {
    consumer: string;
    stream: string;
    stream_seq: number;
    updated_at: ColumnType<Date, string | undefined, string>;
  };
  /**
   * Migration 021: the checkpoint of each partition of a partitioned projection consumer
   * (issue 12); `appliedStreamPositions` reads the stream position they guarantee together.
   */
  "read_model.projection_partition_positions": {
    consumer: string;
    partition_count: number;
    partition_index: number;
    stream: string;
    stream_seq: number;
    updated_at: ColumnType<Date, string | undefined, string>;
  };
  /** Migration 010: the audit log, in GitLab's audit-event shape. `id` is a bigserial. */
  "read_model.audit_events": {
    id: ColumnType<number, never, never>;
    event_id: string;
    event_type: string;
    author_id: number | null;
    entity_id: number | null;
    entity_type: ColumnType<string, string | undefined, string>;
    entity_path: string | null;
    target_id: number;
    target_type: string;
    details: Json<unknown>;
    created_at: Timestamp;
    /** The agent the event is about; null for a refused agent creation (migration 025). */
    agent_id: number | null;
    /** The source message's stream; null for events no message carried (disconnections, migration 014). */
    stream: string | null;
    stream_seq: number | null;
  };
  /**
   * Migration 018: the projection's outbox of alerts (issue 11), published to the alerts stream
   * by `@kasmap/runtime/outbox`; `event_id` is the alert's CloudEvent id. Kept by a rebuild.
   */
  "read_model.alert_outbox": {
    id: ColumnType<number, never, never>;
    event_id: string;
    agent_id: number;
    event: Json<unknown>;
    created_at: ColumnType<Date, string | undefined, never>;
    published_at: NullableTimestamp;
    stream: string | null;
    seq: number | null;
    set_aside_at: NullableTimestamp;
    set_aside_reason: string | null;
  };
};

/**
 * Every table of the read model, without the schema: the one list the rest derives from (the
 * gateway's known tables, the rebuild's comparison). The tables a change notice can name
 * (`READ_MODEL_TABLES` in @kasmap/contracts), then those no notice names. `ReadModelDatabase`
 * must declare exactly these (checked at compile time below): a new migration's table goes in
 * one of the two lists.
 */
export const ALL_READ_MODEL_TABLES = [
  ...READ_MODEL_TABLES,
  "cluster_addresses",
  "ci_access_namespace_grants",
  "collector_connections",
  "deleted_agents",
  "projection_positions",
  "projection_partition_positions",
  "audit_events",
  "alert_outbox",
] as const;
export type ReadModelTableName = (typeof ALL_READ_MODEL_TABLES)[number];

/**
 * Tables a rebuild keeps: not facts derived from the streams but what the projection already
 * published from them (a rebuild re-derives the alerts, and must not raise them again).
 */
/**
 * The most `read_model.collector_connections` rows kept per agent (issue 11): the projection
 * deletes all but the newest heartbeats' in the transaction that adds a row, because a
 * collector's credentials let it invent collector ids. Live replicas (agentk runs two; a rolling
 * update adds one per pod) are the newest, so none is dropped; the gateway reads at most this many.
 */
export const MAX_COLLECTOR_CONNECTIONS_PER_AGENT = 64;

export const KEPT_BY_REBUILD: readonly ReadModelTableName[] = ["alert_outbox"];

type SameSet<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
true satisfies SameSet<keyof ReadModelDatabase, `read_model.${ReadModelTableName}`>;
