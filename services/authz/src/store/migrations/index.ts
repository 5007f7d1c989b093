import type { Migration } from "kysely";
import { registryMigration } from "./001_registry.ts";
import { agentConfigPathsMigration } from "./002_agent_config_paths.ts";
import { personalNamespacesMigration } from "./003_personal_namespaces.ts";
import { outboxSetAsideAndDroppedCountMigration } from "./004_outbox_set_aside_and_dropped_count.ts";
import { mirrorMigration } from "./005_mirror.ts";
import { collectorTokensMigration } from "./006_collector_tokens.ts";
import { agentTokenLeaseMigration } from "./009_agent_token_lease.ts";
import { agentDeletionsMigration } from "./010_agent_deletions.ts";

/** The authz service's own PostgreSQL schema; no other service reads it. */
export const AUTHZ_SCHEMA = "authz";

/**
 * authz's migrations in execution order, one file each. The keys are the names recorded in
 * `authz.kysely_migration`: never rename one; add `NNN_what.ts` and its entry at the end.
 */
export const authzMigrations: Record<string, Migration> = {
  "001_registry": registryMigration,
  "002_agent_config_paths": agentConfigPathsMigration,
  "003_personal_namespaces": personalNamespacesMigration,
  "004_outbox_set_aside_and_dropped_count": outboxSetAsideAndDroppedCountMigration,
  "005_mirror": mirrorMigration,
  // Issue 9 item 5 (collector tokens).
  "006_collector_tokens": collectorTokensMigration,
  // Issue 9 (the re-authentication lease of GitLab agent tokens).
  "009_agent_token_lease": agentTokenLeaseMigration,
  // The per-agent deletion count that pairs a deletion's two records in the projection.
  "010_agent_deletions": agentDeletionsMigration,
};
