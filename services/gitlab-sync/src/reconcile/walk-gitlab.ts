import { KasmapError } from "@kasmap/contracts";
import type { GitLabGroup, GitLabProject } from "@kasmap/gitlab-api";
import type { Logger } from "@kasmap/logging";
import { forEachLimited } from "../concurrency.ts";
import {
  type GitLabMirror,
  isGitLabError,
  isItemReadFailure,
  mirrorGroupOf,
  mirrorProjectOf,
  type ProjectAgents,
} from "../gitlab-mirror.ts";
import { isPermanentMirrorRefusal, type MirrorRefusal } from "../mirror-commands.ts";
import { readAhead } from "../read-ahead.ts";
import { ParentsFirst } from "./group-order.ts";

/**
 * Projects of one page whose agents are read and put at once, each reading its agents with its
 * own bound (the page's projects themselves are put in one batch).
 */
export const PROJECT_CONCURRENCY = 4;

/** Most entries `WalkResult.skipped` and `WalkResult.unread` list (their counts count all). */
const REPORTED_ENTRIES = 20;

/**
 * What a complete walk saw, what it could not put (refused by authz, or parent unseen), and what
 * GitLab would not give it.
 */
export type WalkResult = {
  /** The configured roots' ids, for the sweep; null: everything mirrored is in scope. */
  rootGroupIds: number[] | null;
  groups: number;
  projects: number;
  /** Things authz refused (e.g. a path Kasmap cannot hold), by `kind id: reason`; first 20. */
  skipped: string[];
  skippedCount: number;
  /**
   * Reads GitLab would not answer for one item (a project's agent listing, an agent's config
   * file: `isItemReadFailure`), by `what: reason`; first 20. What was mirrored of them is kept.
   */
  unread: string[];
  unreadCount: number;
  /** Projects GitLab no longer had by the time their agents were read: removed then. */
  gone: number;
};

export type WalkOptions = {
  /**
   * The walk will be swept after (its start came from `mirror.walk.begin`): a project whose agent
   * listing could not be read has its mirrored agents stamped (`mirror.agents.keep`) so the sweep
   * keeps them. false: nothing will be swept, and an authz without walks would refuse that.
   */
  sweeping: boolean;
};

/**
 * One full walk of what the token sees (`rootGroups` null) or of the configured root groups:
 * every group parents first, then every project with its agents and agent configs, page by page
 * (the page being put and the next one being read in memory at a time). A listing of groups or
 * projects that fails, GitLab unreachable and any authz failure end the walk by throwing: the
 * caller then must not sweep. A put authz refuses for good (`validation_failed`, `not_found` for
 * a parent it never got, `conflict` with an id Kasmap's own registry holds, `payload_too_large`:
 * `isPermanentMirrorRefusal`) is skipped and reported, and the walk goes on; so is a read of one
 * project's agents or one agent's config GitLab would not answer (`projectAgentsRead`).
 */
export async function walkGitLab(
  gitlab: GitLabMirror,
  rootGroups: readonly string[] | null,
  logger: Logger,
  options: WalkOptions,
): Promise<WalkResult> {
  const result: WalkResult = {
    rootGroupIds: null,
    groups: 0,
    projects: 0,
    skipped: [],
    skippedCount: 0,
    unread: [],
    unreadCount: 0,
    gone: 0,
  };
  const skip = (what: string, error: unknown): boolean => {
    if (!isPermanentMirrorRefusal(error)) throw error;
    result.skippedCount += 1;
    if (result.skipped.length < REPORTED_ENTRIES) result.skipped.push(`${what}: ${error.message}`);
    logger.warn({ what, reason: error.message }, "not mirrored: authz refused it");
    return false;
  };
  const unread = (what: string, error: Error, kept: string) => {
    result.unreadCount += 1;
    if (result.unread.length < REPORTED_ENTRIES) result.unread.push(`${what}: ${error.message}`);
    logger.warn({ what, reason: error.message }, `not read from GitLab: ${kept}`);
  };
  /** One project's agents, each read failure handled as `projectAgentsRead` says. */
  const walkAgentsOf = async (project: GitLabProject) => {
    const agents = await gitlab.mirrorAgentsOf(project);
    for (const refusal of agents.refused) skip(refusal.what, refusal.error);
    for (const config of agents.configsUnread) unread(config.what, config.error, "its grants are kept");
    const read = await projectAgentsRead(gitlab, project, agents, options);
    if (read === "gone") {
      result.gone += 1;
      logger.info({ project: project.id }, "project gone from GitLab during the walk: removed");
    } else if (read === "kept" && agents.listingUnread !== null) {
      const what = `project ${project.id} (${project.path_with_namespace})'s agents`;
      unread(what, agents.listingUnread, "its mirrored agents are kept");
    }
  };
  /** The ids of `entities` put; the refused ones skipped. */
  const putIdsOf = (kind: string, entities: ReadonlyArray<{ id: number }>, refusals: MirrorRefusal[]) => {
    for (const refusal of refusals) skip(`${kind} ${refusal.id}`, refusal.error);
    const refused = new Set(refusals.map((refusal) => refusal.id));
    return new Set(entities.flatMap((entity) => (refused.has(entity.id) ? [] : [entity.id])));
  };
  const order = new ParentsFirst(async (groups) => {
    const putIds = putIdsOf("group", groups, await gitlab.mirror.putGroups(groups.map(mirrorGroupOf)));
    result.groups += putIds.size;
    return putIds;
  });
  const putProjectPages = async (pages: AsyncIterable<GitLabProject[]>) => {
    for await (const page of readAhead(pages)) {
      const putIds = putIdsOf("project", page, await gitlab.mirror.putProjects(page.map(mirrorProjectOf)));
      result.projects += putIds.size;
      const put = page.filter((project) => putIds.has(project.id));
      await forEachLimited(put, PROJECT_CONCURRENCY, walkAgentsOf);
    }
  };

  if (rootGroups === null) {
    for await (const page of readAhead(gitlab.groupPages())) await order.addPage(page);
    // Every project the token sees, personal ones included (their namespaces need no group).
    await putProjectPages(gitlab.projectPages());
  } else {
    result.rootGroupIds = [];
    for (const path of rootGroups) {
      const root = await gitlab.readGroup(path);
      if (root === null) {
        throw new Error(`root group ${path} does not exist or the token cannot see it`);
      }
      await putWithAncestors(gitlab, root, order);
      if (!order.has(root.id)) continue;
      result.rootGroupIds.push(root.id);
      for await (const page of readAhead(gitlab.descendantGroupPages(root.id))) {
        await order.addPage(page);
      }
    }
    for (const rootId of result.rootGroupIds) await putProjectPages(gitlab.projectPagesUnder(rootId));
  }
  for (const orphan of order.orphans()) {
    skip(
      `group ${orphan.id}`,
      new KasmapError("not_found", `parent group ${orphan.parent_id} is not visible to the token`),
    );
  }
  return result;
}

/**
 * After a project's agents were read: `read` when the listing was read whole. Otherwise the
 * agents not listed cannot be taken for gone. A 404 says the project itself may be gone (deleted
 * after its page was read) or no longer visible: it is read again, and when GitLab says so it is
 * removed as a hook would remove it (`gone`; its agents with it — GitLab no longer has them
 * either), not left stamped by this walk for the sweep to spare. A 403, a 5xx, or a project that
 * is still there: its mirrored agents are stamped (`mirror.agents.keep`) so the sweep keeps them
 * (`kept`) — a token that may never read them keeps what hooks put, and removals come by hook
 * or once the listing is readable.
 */
async function projectAgentsRead(
  gitlab: GitLabMirror,
  project: GitLabProject,
  agents: ProjectAgents,
  options: WalkOptions,
): Promise<"read" | "gone" | "kept"> {
  if (agents.listingUnread === null) return "read";
  if (isGitLabError(agents.listingUnread, "not_found") && (await projectGone(gitlab, project.id))) {
    await gitlab.mirror.remove("project", project.id);
    return "gone";
  }
  if (options.sweeping) await gitlab.mirror.keepAgentsOf(project.id);
  return "kept";
}

/** Whether GitLab says the project does not exist (or is not visible); unsure (403, 5xx): no. */
async function projectGone(gitlab: GitLabMirror, projectId: number): Promise<boolean> {
  try {
    return (await gitlab.readProject(projectId)) === null;
  } catch (error) {
    if (isItemReadFailure(error)) return false;
    throw error;
  }
}

/** A configured root that is a subgroup: its ancestors go in first (top-down). */
async function putWithAncestors(
  gitlab: GitLabMirror,
  group: GitLabGroup,
  order: ParentsFirst,
): Promise<void> {
  const chain: GitLabGroup[] = [group];
  for (let parentId = group.parent_id; parentId !== null && !order.has(parentId); ) {
    const parent = await gitlab.readGroup(parentId);
    if (parent === null) break;
    chain.unshift(parent);
    parentId = parent.parent_id;
  }
  for (const link of chain) await order.add(link);
}
