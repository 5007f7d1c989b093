import { AGENT_CONFIG_ENTITY_LIMIT, type AgentConfig } from "@kasmap/contracts";

export type ConfigPaths = { projects: string[]; groups: string[] };

/**
 * Every full path a config names, lower-cased and deduplicated, split by kind: what must be
 * loaded from the registry before the (synchronous) resolution runs, and what is indexed in
 * `authz.agent_config_paths` for re-resolution after moves. Both `ci_access` and `user_access`
 * lists count, each only up to GitLab's 500 entries: the rest are over-limit whatever the
 * registry holds, so they need no lookup and no index row. That also bounds the rows written
 * per config (at most 2,000 paths), far below the 65,535 parameters one statement takes.
 */
export function collectConfigPaths(config: AgentConfig): ConfigPaths {
  const projects = new Set<string>();
  const groups = new Set<string>();
  for (const section of [config.ci_access, config.user_access]) {
    for (const entry of counted(section?.projects)) projects.add(entry.id.toLowerCase());
    for (const entry of counted(section?.groups)) groups.add(entry.id.toLowerCase());
  }
  return { projects: [...projects], groups: [...groups] };
}

function counted<T>(entries: readonly T[] | undefined): readonly T[] {
  return (entries ?? []).slice(0, AGENT_CONFIG_ENTITY_LIMIT);
}
