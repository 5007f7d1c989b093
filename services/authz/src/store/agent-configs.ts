import { type AgentGrantSet, type DroppedReport, EMPTY_GRANT_SET } from "@kasmap/contracts";
import type { ConfigPaths } from "../config-paths.ts";
import type { AuthzTx } from "./schema.ts";

/** The last accepted config, what it resolved to, and what it dropped (count + first 100). */
export type StoredAgentConfig = { yaml: string; grants: AgentGrantSet } & DroppedReport;

export async function findAgentConfig(tx: AuthzTx, agentId: number): Promise<StoredAgentConfig | undefined> {
  return tx
    .selectFrom("authz.agent_configs")
    .select(["yaml", "grants", "dropped", "dropped_count"])
    .where("agent_id", "=", agentId)
    .executeTakeFirst();
}

/** The grants in force for an agent: those of its last accepted config, or none. */
export async function currentGrants(tx: AuthzTx, agentId: number): Promise<AgentGrantSet> {
  return (await findAgentConfig(tx, agentId))?.grants ?? EMPTY_GRANT_SET;
}

/**
 * Stores an agent's config and resolved grants, and replaces its rows in
 * `authz.agent_grant_targets` and `authz.agent_config_paths` (the indexes transfers use to find
 * affected agents).
 */
export async function storeAgentConfig(
  tx: AuthzTx,
  agentId: number,
  config: StoredAgentConfig,
  paths: ConfigPaths,
): Promise<void> {
  const values = {
    yaml: config.yaml,
    grants: JSON.stringify(config.grants),
    dropped: JSON.stringify(config.dropped),
    dropped_count: config.dropped_count,
    updated_at: new Date(),
  };
  await tx
    .insertInto("authz.agent_configs")
    .values({ agent_id: agentId, ...values })
    .onConflict((oc) => oc.column("agent_id").doUpdateSet(values))
    .execute();
  await replaceGrantTargets(tx, agentId, config.grants);
  await replaceConfigPaths(tx, agentId, paths);
}

async function replaceConfigPaths(tx: AuthzTx, agentId: number, paths: ConfigPaths): Promise<void> {
  await tx.deleteFrom("authz.agent_config_paths").where("agent_id", "=", agentId).execute();
  const rows = [
    ...paths.projects.map((lower_path) => ({
      agent_id: agentId,
      target_type: "project" as const,
      lower_path,
    })),
    ...paths.groups.map((lower_path) => ({ agent_id: agentId, target_type: "group" as const, lower_path })),
  ];
  if (rows.length > 0) await tx.insertInto("authz.agent_config_paths").values(rows).execute();
}

async function replaceGrantTargets(tx: AuthzTx, agentId: number, grants: AgentGrantSet): Promise<void> {
  await tx.deleteFrom("authz.agent_grant_targets").where("agent_id", "=", agentId).execute();
  const targets = new Map<string, { target_type: "project" | "group"; target_id: number }>();
  for (const access of [grants.ci_access, grants.user_access]) {
    for (const p of access.projects)
      targets.set(`p${p.project_id}`, { target_type: "project", target_id: p.project_id });
    for (const g of access.groups)
      targets.set(`g${g.group_id}`, { target_type: "group", target_id: g.group_id });
  }
  if (targets.size === 0) return;
  await tx
    .insertInto("authz.agent_grant_targets")
    .values([...targets.values()].map((t) => ({ agent_id: agentId, ...t })))
    .execute();
}
