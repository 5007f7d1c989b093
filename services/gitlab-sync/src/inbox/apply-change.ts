import { isKasmapError } from "@kasmap/contracts";
import {
  agentNameOfConfigPath,
  GitLabClusterAgentSchema,
  type GitLabGroup,
  type GitLabProject,
  gitlabPath,
  type HookChange,
} from "@kasmap/gitlab-api";
import {
  type AgentRefusal,
  type GitLabMirror,
  isGitLabError,
  mirrorGroupOf,
  mirrorProjectOf,
  type ProjectAgents,
} from "../gitlab-mirror.ts";
import { holdsMirrorRoot, inMirrorScope } from "../mirror-scope.ts";

/** GitLab nests groups at most 20 deep; a parent chain longer than that is not followed. */
const MAX_GROUP_DEPTH = 20;
/** What audit streaming names an agent as (`target_type`). */
const AGENT_TARGET_TYPE = "Clusters::Agent";

type Change = Exclude<HookChange, { kind: "ignored" } | { kind: "invalid" }>;

/**
 * Applies one notice: re-reads what it names from GitLab (the notice is only the reason to
 * look; GitLab is the truth) and puts it, or removes it when GitLab no longer has it or it left
 * the configured roots. Throws what GitLab or authz threw, for the consumer to retry; returns
 * the agents authz refused for good (the project's others were put), for the consumer to report.
 */
export async function applyChange(
  gitlab: GitLabMirror,
  rootGroups: readonly string[] | null,
  change: Change,
  payload: unknown,
): Promise<AgentRefusal[]> {
  switch (change.kind) {
    case "group": {
      const group = await gitlab.readGroup(change.id);
      const wanted =
        group !== null &&
        (inMirrorScope(rootGroups, group.full_path) || holdsMirrorRoot(rootGroups, group.full_path));
      if (group === null || !wanted) {
        await gitlab.mirror.remove("group", change.id);
        return [];
      }
      await putGroupChain(gitlab, group, 0);
      return [];
    }
    case "project": {
      const project = await projectInScope(gitlab, rootGroups, change.id);
      if (project === null) return [];
      return refusalsOrThrow(await gitlab.mirrorAgentsOf(project));
    }
    case "project_agents": {
      const project = await projectInScope(gitlab, rootGroups, change.project_id);
      if (project === null) return [];
      const refusals = refusalsOrThrow(await gitlab.mirrorAgentsOf(project));
      const agentId = auditTargetAgent(payload);
      if (agentId !== null && !(await agentExists(gitlab, project.id, agentId))) {
        await gitlab.mirror.remove("agent", agentId);
      }
      return refusals;
    }
    case "agent_config": {
      const project = await projectInScope(gitlab, rootGroups, change.project_id);
      if (project === null) return [];
      const names =
        change.paths === null
          ? null
          : new Set(change.paths.flatMap((path) => agentNameOfConfigPath(path) ?? []));
      return names === null || names.size > 0
        ? refusalsOrThrow(await gitlab.mirrorAgentsOf(project, names))
        : [];
    }
  }
}

/**
 * The project re-read and put (its namespace's groups first when authz lacks them), or null
 * after removing it: GitLab no longer has it, or it is outside the configured roots.
 */
async function projectInScope(
  gitlab: GitLabMirror,
  rootGroups: readonly string[] | null,
  id: number,
): Promise<GitLabProject | null> {
  const project = await gitlab.readProject(id);
  const inScope =
    project !== null &&
    (project.namespace.kind === "user"
      ? rootGroups === null
      : inMirrorScope(rootGroups, project.namespace.full_path));
  if (project === null || !inScope) {
    await gitlab.mirror.remove("project", id);
    return null;
  }
  try {
    await gitlab.mirror.putProject(mirrorProjectOf(project));
  } catch (error) {
    if (!isKasmapError(error, "not_found") || project.namespace.kind === "user") throw error;
    // A project in a group created since the last reconcile, whose hook has not come (yet).
    const namespace = await gitlab.readGroup(project.namespace.id);
    if (namespace === null) throw error;
    await putGroupChain(gitlab, namespace, 0);
    await gitlab.mirror.putProject(mirrorProjectOf(project));
  }
  return project;
}

/** Puts the group, putting its missing ancestors first. */
async function putGroupChain(gitlab: GitLabMirror, group: GitLabGroup, depth: number): Promise<void> {
  try {
    await gitlab.mirror.putGroup(mirrorGroupOf(group));
  } catch (error) {
    if (!isKasmapError(error, "not_found") || group.parent_id === null || depth >= MAX_GROUP_DEPTH)
      throw error;
    const parent = await gitlab.readGroup(group.parent_id);
    if (parent === null) throw error;
    await putGroupChain(gitlab, parent, depth + 1);
    await gitlab.mirror.putGroup(mirrorGroupOf(group));
  }
}

/**
 * The agents authz refused, once the project's agents were read: a listing GitLab refused (403:
 * the token sees no agents there) counts as read, as far as it went; any other read that failed
 * is thrown, for the consumer to retry (the hook only removes what GitLab says is gone).
 */
function refusalsOrThrow(agents: ProjectAgents): AgentRefusal[] {
  const { listingUnread, configsUnread } = agents;
  if (listingUnread !== null && !isGitLabError(listingUnread, "forbidden")) throw listingUnread;
  const [config] = configsUnread;
  if (config !== undefined) throw config.error;
  return agents.refused;
}

/** The agent an audit streaming event names (`target_type` `Clusters::Agent`), if any. */
function auditTargetAgent(payload: unknown): number | null {
  if (typeof payload !== "object" || payload === null) return null;
  const { target_type: type, target_id: id } = payload as Record<string, unknown>;
  if (type !== AGENT_TARGET_TYPE) return null;
  const agentId = typeof id === "string" && /^[1-9][0-9]{0,15}$/.test(id) ? Number(id) : id;
  return typeof agentId === "number" && Number.isSafeInteger(agentId) && agentId > 0 ? agentId : null;
}

async function agentExists(gitlab: GitLabMirror, projectId: number, agentId: number): Promise<boolean> {
  try {
    await gitlab.gitlab.get(
      gitlabPath`/projects/${projectId}/cluster_agents/${agentId}`,
      GitLabClusterAgentSchema,
    );
    return true;
  } catch (error) {
    if (isGitLabError(error, "not_found")) return false;
    throw error;
  }
}
