import type { Kysely, Migration } from "kysely";
import { migrateSchema } from "../migrate.ts";
import { READ_MODEL_SCHEMA, type ReadModelDatabase } from "../read-model.ts";
import * as m001Initial from "./001_initial.ts";
import * as m002HistoryByTimeAndHeartbeatHash from "./002_history_by_time_and_heartbeat_hash.ts";
import * as m010AuditEvents from "./010_audit_events.ts";
import * as m011ClusterAddresses from "./011_cluster_addresses.ts";
import * as m012AllowedAgentsFunction from "./012_allowed_agents_function.ts";
import * as m013PersonalNamespaces from "./013_personal_namespaces.ts";
import * as m014AgentDisconnections from "./014_agent_disconnections.ts";
import * as m015DeletedAgents from "./015_deleted_agents.ts";
import * as m016AgentTokenRevokedAt from "./016_agent_token_revoked_at.ts";
import * as m017AgentTokenKind from "./017_agent_token_kind.ts";
import * as m018AlertOutbox from "./018_alert_outbox.ts";
import * as m019CollectorConnections from "./019_collector_connections.ts";
import * as m020CollectorClusterUid from "./020_collector_cluster_uid.ts";
import * as m021ProjectionPartitionPositions from "./021_projection_partition_positions.ts";
import * as m022AuditEventsWithoutAgent from "./022_audit_events_without_agent.ts";
import * as m023CiAccessNamespaceGrants from "./023_ci_access_namespace_grants.ts";
import * as m024AllowedAgentsIdentityColumns from "./024_allowed_agents_identity_columns.ts";
import * as m025CiAccessNamespaceGrantsWriterLock from "./025_ci_access_namespace_grants_writer_lock.ts";
import * as m026AgentRevival from "./026_agent_revival.ts";
import * as m027AgentDeletionNumbers from "./027_agent_deletion_numbers.ts";

/**
 * Migrations of the read model, one file each, listed in execution order: kysely runs them
 * sorted by name. The names are recorded in `read_model.kysely_migration`, so a file is never
 * renamed once released; a new migration takes the next number and a line here.
 *
 * Ids are GitLab-style integers assigned by authz; rows carry state copied from events. Group
 * and project membership questions are answered with the `traversal_ids` arrays and their GIN
 * indexes (`@>` containment), never by walking trees.
 */
export const readModelMigrations: Record<string, Migration> = {
  "001_initial": m001Initial,
  "002_history_by_time_and_heartbeat_hash": m002HistoryByTimeAndHeartbeatHash,
  "010_audit_events": m010AuditEvents,
  "011_cluster_addresses": m011ClusterAddresses,
  "012_allowed_agents_function": m012AllowedAgentsFunction,
  "013_personal_namespaces": m013PersonalNamespaces,
  "014_agent_disconnections": m014AgentDisconnections,
  "015_deleted_agents": m015DeletedAgents,
  "016_agent_token_revoked_at": m016AgentTokenRevokedAt,
  "017_agent_token_kind": m017AgentTokenKind,
  "018_alert_outbox": m018AlertOutbox,
  "019_collector_connections": m019CollectorConnections,
  "020_collector_cluster_uid": m020CollectorClusterUid,
  "021_projection_partition_positions": m021ProjectionPartitionPositions,
  "022_audit_events_without_agent": m022AuditEventsWithoutAgent,
  "023_ci_access_namespace_grants": m023CiAccessNamespaceGrants,
  "024_allowed_agents_identity_columns": m024AllowedAgentsIdentityColumns,
  "025_ci_access_namespace_grants_writer_lock": m025CiAccessNamespaceGrantsWriterLock,
  "026_agent_revival": m026AgentRevival,
  "027_agent_deletion_numbers": m027AgentDeletionNumbers,
};

/** Brings the read model (schema `read_model`) up to date: `migrateSchema` with the list above. */
export function migrateReadModel(db: Kysely<ReadModelDatabase>): Promise<void> {
  return migrateSchema(db, READ_MODEL_SCHEMA, readModelMigrations);
}
