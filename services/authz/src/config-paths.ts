import type { AgentConfig } from "@kasmap/contracts";

export type ConfigPaths = { projects: string[]; groups: string[] };

/**
 * Every full path a config names, lower-cased and deduplicated, split by kind: what must be
 * loaded from the registry before the (synchronous) resolution runs. Both `ci_access` and
 * `user_access` lists count; entries past GitLab's 500 limit are included too (they are cheap
 * to look up and the resolver reports them as over-limit anyway).
 */
export function collectConfigPaths(config: AgentConfig): ConfigPaths {
  const projects = new Set<string>();
  const groups = new Set<string>();
  for (const section of [config.ci_access, config.user_access]) {
    for (const entry of section?.projects ?? []) projects.add(entry.id.toLowerCase());
    for (const entry of section?.groups ?? []) groups.add(entry.id.toLowerCase());
  }
  return { projects: [...projects], groups: [...groups] };
}
