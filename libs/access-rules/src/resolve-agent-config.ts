import {
  AGENT_CONFIG_ENTITY_LIMIT,
  type AgentConfig,
  type AgentGrantSet,
  type CiAccessConfig,
  type DroppedEntry,
  type NamespaceKind,
  type UserAccessConfig,
} from "@kasmap/contracts";

/**
 * A registry entry found by full path. `traversal_ids` root first (a project: its namespace's;
 * a project in a personal namespace has `[that namespace's id]`, so the namespace is its root).
 */
export interface ResolvedNamespace {
  id: number;
  traversal_ids: readonly number[];
  /** For a namespace: `user` for a personal one (absent = group). Unused for projects. */
  kind?: NamespaceKind;
}

/**
 * Finds projects and groups by full path. Callers pass the path lower-cased; implementations
 * must compare case-insensitively (GitLab's `where_full_path_in` lower-cases both sides).
 * `groupByFullPath` may answer a personal namespace (same path space); resolution treats it as
 * not found, since `groups` entries name groups only in GitLab (`Group.where_full_path_in`).
 */
export interface RegistryLookup {
  projectByFullPath(lowerCasePath: string): ResolvedNamespace | null;
  groupByFullPath(lowerCasePath: string): ResolvedNamespace | null;
}

export interface ResolvedAgentConfig {
  grants: AgentGrantSet;
  /** What GitLab would drop silently, in config order (per list). */
  dropped: DroppedEntry[];
}

type Access = DroppedEntry["access"];
type TargetType = DroppedEntry["target_type"];

/**
 * Turns an agent's parsed config into the rows GitLab's `RefreshService`s store: one per
 * agent × project and agent × group, each with its entry minus `id` as `config`.
 *
 * As in GitLab: only the first 500 entries of each list count (the rest `over-limit`); paths
 * match case-insensitively; a path listed twice keeps its first position and its last entry's
 * config (Ruby's `index_by`); targets outside the agent project's root group are dropped, and
 * a personal namespace is that root for its projects; a group entry never names a personal
 * namespace (not-found).
 * `user_access` rows all store `{ access_as }` from the section.
 *
 * @param agentProject the agent's configuration project; `traversal_ids[0]` is its root group.
 */
export function resolveAgentConfig(
  config: AgentConfig,
  agentProject: { traversal_ids: readonly number[] },
  lookup: RegistryLookup,
): ResolvedAgentConfig {
  const rootId = agentProject.traversal_ids[0];
  const dropped: DroppedEntry[] = [];
  const resolve = <C>(access: Access, type: TargetType, entries: readonly Entry<C>[] | undefined) =>
    resolveList({ access, type, entries: entries ?? [], rootId, lookup, dropped });

  const ci = config.ci_access;
  const ciProjects = resolve("ci_access", "project", ci?.projects?.map(ciEntry));
  const ciGroups = resolve("ci_access", "group", ci?.groups?.map(ciEntry));
  const user = config.user_access;
  const userConfig: UserAccessConfig | undefined = user ? { access_as: user.access_as } : undefined;
  const userEntry = (entry: { id: string }): Entry<UserAccessConfig> | null =>
    userConfig ? { path: entry.id, config: userConfig } : null;
  const userProjects = resolve("user_access", "project", user?.projects?.flatMap(nonNull(userEntry)));
  const userGroups = resolve("user_access", "group", user?.groups?.flatMap(nonNull(userEntry)));

  return {
    grants: {
      ci_access: {
        projects: ciProjects.map(({ id, config }) => ({ project_id: id, config })),
        groups: ciGroups.map(({ id, config }) => ({ group_id: id, config })),
      },
      user_access: {
        projects: userProjects.map(({ id, config }) => ({ project_id: id, config })),
        groups: userGroups.map(({ id, config }) => ({ group_id: id, config })),
      },
    },
    dropped,
  };
}

interface Entry<C> {
  path: string;
  config: C;
}

function ciEntry(entry: { id: string } & CiAccessConfig): Entry<CiAccessConfig> {
  const { id, ...config } = entry;
  return { path: id, config };
}

function nonNull<A, B>(fn: (a: A) => B | null): (a: A) => B[] {
  return (a) => {
    const b = fn(a);
    return b === null ? [] : [b];
  };
}

interface ResolveListInput<C> {
  access: Access;
  type: TargetType;
  entries: readonly Entry<C>[];
  rootId: number | undefined;
  lookup: RegistryLookup;
  dropped: DroppedEntry[];
}

function resolveList<C>(input: ResolveListInput<C>): { id: number; config: C }[] {
  const { access, type, entries, rootId, lookup, dropped } = input;
  const drop = (path: string, reason: DroppedEntry["reason"]) =>
    dropped.push({ access, target_type: type, path, reason });

  const byPath = new Map<string, Entry<C>>();
  for (const entry of entries.slice(0, AGENT_CONFIG_ENTITY_LIMIT))
    byPath.set(entry.path.toLowerCase(), entry);

  const resolved: { id: number; config: C }[] = [];
  for (const [lowerPath, entry] of byPath) {
    const target =
      type === "project" ? lookup.projectByFullPath(lowerPath) : lookup.groupByFullPath(lowerPath);
    if (target === null || (type === "group" && target.kind === "user")) drop(entry.path, "not-found");
    else if (rootId === undefined || target.traversal_ids[0] !== rootId)
      drop(entry.path, "outside-root-group");
    else resolved.push({ id: target.id, config: entry.config });
  }
  // After the resolution drops, so `dropped` stays in config order.
  for (const entry of entries.slice(AGENT_CONFIG_ENTITY_LIMIT)) drop(entry.path, "over-limit");
  return resolved;
}
