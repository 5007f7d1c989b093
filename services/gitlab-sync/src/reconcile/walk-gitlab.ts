import { KasmapError } from "@kasmap/contracts";
import type { GitLabGroup, GitLabProject } from "@kasmap/gitlab-api";
import type { Logger } from "@kasmap/logging";
import { forEachLimited } from "../concurrency.ts";
import { type GitLabMirror, mirrorGroupOf, mirrorProjectOf } from "../gitlab-mirror.ts";
import { isPermanentMirrorRefusal, type MirrorRefusal } from "../mirror-commands.ts";
import { readAhead } from "../read-ahead.ts";
import { ParentsFirst } from "./group-order.ts";

/**
 * Projects of one page whose agents are read and put at once, each reading its agents with its
 * own bound (the page's projects themselves are put in one batch).
 */
export const PROJECT_CONCURRENCY = 4;

/** What a complete walk saw, and what it could not put (refused by authz, or parent unseen). */
export type WalkResult = {
  /** The configured roots' ids, for the sweep; null: everything mirrored is in scope. */
  rootGroupIds: number[] | null;
  groups: number;
  projects: number;
  /** Things authz refused (e.g. a path Kasmap cannot hold), by `kind id: reason`; first 20. */
  skipped: string[];
  skippedCount: number;
};

/**
 * One full walk of what the token sees (`rootGroups` null) or of the configured root groups:
 * every group parents first, then every project with its agents and agent configs, page by page
 * (the page being put and the next one being read in memory at a time). Any GitLab or authz failure ends the walk
 * by throwing: the caller then must not sweep. A put authz refuses for good (`validation_failed`,
 * `not_found` for a parent it never got, `conflict` with an id Kasmap's own registry holds,
 * `payload_too_large`: `isPermanentMirrorRefusal`) is skipped and reported, and the walk goes
 * on.
 */
export async function walkGitLab(
  gitlab: GitLabMirror,
  rootGroups: readonly string[] | null,
  logger: Logger,
): Promise<WalkResult> {
  const result: WalkResult = { rootGroupIds: null, groups: 0, projects: 0, skipped: [], skippedCount: 0 };
  const skip = (what: string, error: unknown): boolean => {
    if (!isPermanentMirrorRefusal(error)) throw error;
    result.skippedCount += 1;
    if (result.skipped.length < 20) result.skipped.push(`${what}: ${error.message}`);
    logger.warn({ what, reason: error.message }, "not mirrored: authz refused it");
    return false;
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
      await forEachLimited(put, PROJECT_CONCURRENCY, async (project) => {
        for (const refusal of await gitlab.mirrorAgentsOf(project)) skip(refusal.what, refusal.error);
      });
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
