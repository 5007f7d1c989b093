import { AGENT_CONFIG_MAX_BYTES, type KasmapError, utf8ByteLength } from "@kasmap/contracts";
import {
  agentConfigPath,
  GitLabApiError,
  type GitLabApiErrorKind,
  type GitLabClient,
  type GitLabClusterAgent,
  GitLabClusterAgentSchema,
  type GitLabGroup,
  GitLabGroupSchema,
  type GitLabProject,
  GitLabProjectSchema,
  gitlabPath,
} from "@kasmap/gitlab-api";
import { forEachLimited } from "./concurrency.ts";
import {
  type AgentConfigFile,
  isPermanentMirrorRefusal,
  type MirrorCommands,
  type MirrorGroup,
  type MirrorProject,
} from "./mirror-commands.ts";

/** Agents (and their config files) of one project read and put at once. */
export const AGENT_READ_CONCURRENCY = 4;
/**
 * Most bytes of an agent config file read: the 256 KiB authz accepts and 16 KiB more, so a file
 * a little over the limit is refused with its exact size even when GitLab declares no
 * `Content-Length`. Reading stops there: a larger file is refused by its size alone.
 */
export const AGENT_CONFIG_READ_MAX_BYTES = AGENT_CONFIG_MAX_BYTES + 16 * 1024;

/** An agent authz refused for good (`isPermanentMirrorRefusal`); the project's others were put. */
export type AgentRefusal = { what: string; error: KasmapError };

/** Something GitLab would not give for one item (`isItemReadFailure`); the others were read. */
export type UnreadItem = { what: string; error: GitLabApiError };

/** What mirroring one project's agents came to. */
export type ProjectAgents = {
  /** Agents authz refused for good; the project's others were put. */
  refused: AgentRefusal[];
  /**
   * Why the agent listing could not be read whole (`isItemReadFailure`); null when it was. The
   * agents on the pages before it were put, the others not: none of the project's agents may be
   * taken for gone because of this read.
   */
  listingUnread: GitLabApiError | null;
  /** Agents put whose config file could not be read: their config was not put (grants kept). */
  configsUnread: UnreadItem[];
};

/**
 * What GitLab answers about one item that another item's read would not meet: 403 (the token may
 * not read this), 404 (gone, or not visible), 5xx after the client's retries, a body that does not
 * parse or is over the limit. A walk records it and reads the next item; GitLab unreachable, the
 * token refused (401) or the rate limit past its waits concern every read, and end the walk.
 */
export function isItemReadFailure(error: unknown): error is GitLabApiError {
  return error instanceof GitLabApiError && ITEM_FAILURE_KINDS.includes(error.kind);
}

const ITEM_FAILURE_KINDS: readonly GitLabApiErrorKind[] = [
  "forbidden",
  "not_found",
  "server",
  "invalid_response",
  "too_large",
];

/** The listings below are all read in id order. */
const BY_ID = { order_by: "id", sort: "asc" };

/** GitLab's shapes → the `mirror.*` requests (GitLab's ids, names, paths and times verbatim). */
export function mirrorGroupOf(group: GitLabGroup): MirrorGroup {
  return { ...namedFieldsOf(group), parent_id: group.parent_id };
}

export function mirrorProjectOf(project: GitLabProject): MirrorProject {
  return {
    ...namedFieldsOf(project),
    namespace: {
      id: project.namespace.id,
      kind: project.namespace.kind === "user" ? "user" : "group",
      path: project.namespace.path,
      name: project.namespace.name,
    },
  };
}

/** The fields a group and a project request take alike from GitLab's group and project. */
function namedFieldsOf(entity: GitLabGroup | GitLabProject) {
  return {
    id: entity.id,
    name: entity.name,
    path: entity.path,
    description: entity.description ?? null,
    created_at: isoTime(entity.created_at),
  };
}

/** GitLab writes `2016-06-17T07:47:33.840Z` (or with an offset); authz wants ISO 8601 with one. */
function isoTime(text: string): string {
  const time = Date.parse(text);
  return Number.isNaN(time) ? new Date(0).toISOString() : new Date(time).toISOString();
}

/**
 * Reads from GitLab and puts into the mirror: the steps the full reconcile and the inbox
 * consumer share. GitLab is the truth; each step re-reads what it puts.
 */
export class GitLabMirror {
  constructor(
    readonly gitlab: GitLabClient,
    readonly mirror: MirrorCommands,
  ) {}

  /** The group, or null when GitLab says it does not exist (or the token may not see it). */
  readGroup(id: number | string): Promise<GitLabGroup | null> {
    return orNullOn404(this.gitlab.get(gitlabPath`/groups/${id}`, GitLabGroupSchema));
  }

  readProject(id: number): Promise<GitLabProject | null> {
    return orNullOn404(this.gitlab.get(gitlabPath`/projects/${id}`, GitLabProjectSchema));
  }

  /** Every group the token sees, by id. */
  groupPages(): AsyncIterable<GitLabGroup[]> {
    return this.gitlab.pages("/groups", GitLabGroupSchema, { query: { all_available: true, ...BY_ID } });
  }

  /** Every project the token sees, by id, personal ones included. */
  projectPages(): AsyncIterable<GitLabProject[]> {
    return this.gitlab.pages("/projects", GitLabProjectSchema, { query: BY_ID });
  }

  /** The subgroups of a group at every depth, by id. */
  descendantGroupPages(groupId: number): AsyncIterable<GitLabGroup[]> {
    return this.gitlab.pages(gitlabPath`/groups/${groupId}/descendant_groups`, GitLabGroupSchema, {
      query: BY_ID,
    });
  }

  /** The projects of a group and of its subgroups at every depth, by id. */
  projectPagesUnder(groupId: number): AsyncIterable<GitLabProject[]> {
    return this.gitlab.pages(gitlabPath`/groups/${groupId}/projects`, GitLabProjectSchema, {
      query: { include_subgroups: true, ...BY_ID },
    });
  }

  /**
   * Every agent of the project, each with its config file from the default branch (404 = no
   * file = `{}`; over 256 KiB, or too large for NATS once JSON-encoded: recorded as refused,
   * `readAgentConfig`, `agentConfigRequest`), at most
   * `AGENT_READ_CONCURRENCY` at once. `onlyNames`: just the agents whose config files changed
   * (a push), and only their config. An agent authz refuses for good does not stop the others,
   * nor does a listing or a config file GitLab would not give (`isItemReadFailure`: a 403 — agents
   * need Developer on the project —, a 404, a 5xx): all are returned, for the caller to decide
   * and report. Any other failure throws.
   */
  async mirrorAgentsOf(
    project: GitLabProject,
    onlyNames: ReadonlySet<string> | null = null,
  ): Promise<ProjectAgents> {
    const agents = this.gitlab.pages(
      gitlabPath`/projects/${project.id}/cluster_agents`,
      GitLabClusterAgentSchema,
    );
    const outcome: ProjectAgents = { refused: [], listingUnread: null, configsUnread: [] };
    try {
      for await (const page of agents) await this.mirrorAgentPage(project, page, onlyNames, outcome);
    } catch (error) {
      // A page's agents keep their own read failures (`configsUnread`): this one is the listing's.
      if (!isItemReadFailure(error)) throw error;
      outcome.listingUnread = error;
    }
    return outcome;
  }

  private async mirrorAgentPage(
    project: GitLabProject,
    page: GitLabClusterAgent[],
    onlyNames: ReadonlySet<string> | null,
    outcome: ProjectAgents,
  ): Promise<void> {
    const chosen = onlyNames === null ? page : page.filter((agent) => onlyNames.has(agent.name));
    await forEachLimited(chosen, AGENT_READ_CONCURRENCY, async (agent) => {
      try {
        if (onlyNames === null) {
          await this.mirror.putAgent({
            id: agent.id,
            project_id: project.id,
            name: agent.name,
            created_at: isoTime(agent.created_at),
          });
        }
        await this.mirror.putAgentConfig(agent.id, await this.readAgentConfig(project, agent.name));
      } catch (error) {
        const what = `agent ${agent.id} (${project.path_with_namespace})`;
        if (isPermanentMirrorRefusal(error)) outcome.refused.push({ what, error });
        else if (isItemReadFailure(error)) outcome.configsUnread.push({ what: `${what}'s config`, error });
        else throw error;
      }
    });
  }

  /**
   * `.gitlab/agents/<name>/config.yaml` on the default branch, read up to
   * `AGENT_CONFIG_READ_MAX_BYTES`: a file over `AGENT_CONFIG_MAX_BYTES` (256 KiB, in UTF-8 as
   * authz counts it) is `oversized`, with its size when GitLab declared it or it was read whole.
   */
  async readAgentConfig(project: GitLabProject, agentName: string): Promise<AgentConfigFile> {
    if (!project.default_branch) return { kind: "missing" };
    let file: Awaited<ReturnType<GitLabClient["raw"]>>;
    try {
      file = await this.gitlab.raw(
        gitlabPath`/projects/${project.id}/repository/files/${agentConfigPath(agentName)}/raw`,
        { query: { ref: project.default_branch }, maxBytes: AGENT_CONFIG_READ_MAX_BYTES },
      );
    } catch (error) {
      if (error instanceof GitLabApiError && error.kind === "too_large")
        return { kind: "oversized", bytes: error.bodyBytes };
      throw error;
    }
    if (file === null) return { kind: "missing" };
    const bytes = utf8ByteLength(file.body);
    return bytes > AGENT_CONFIG_MAX_BYTES ? { kind: "oversized", bytes } : { kind: "file", yaml: file.body };
  }
}

async function orNullOn404<T>(read: Promise<T>): Promise<T | null> {
  try {
    return await read;
  } catch (error) {
    if (isGitLabError(error, "not_found")) return null;
    throw error;
  }
}

export function isGitLabError(error: unknown, kind: GitLabApiErrorKind): boolean {
  return error instanceof GitLabApiError && error.kind === kind;
}
