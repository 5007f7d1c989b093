import { ACCESS_LEVELS, KasmapError } from "@kasmap/contracts";
import type { AuthenticatedUser } from "../auth/authenticate.ts";
import type { GatewayContext } from "../context.ts";
import type { ProjectRow } from "../read-model/registry-queries.ts";
import { projectAccessLevel } from "./access-levels.ts";

/** The role GitLab's agent write routes require (`admin_cluster`): Maintainer and above. */
export const AGENT_WRITE_LEVEL = ACCESS_LEVELS.maintainer;

/**
 * `403 Forbidden` unless `user` holds at least `required` on `project` (admins always do).
 * Called after `visibleProject` and BEFORE anything inside the project is looked up, as GitLab's
 * `authorize! :admin_cluster, user_project` runs before `find_agent!`: a caller below the role
 * then gets the same answer for an agent that exists and one that does not. authz checks the
 * role again (it is the authority); this check only fixes the order of the answers.
 */
export async function requireProjectRole(
  ctx: GatewayContext,
  user: AuthenticatedUser,
  project: ProjectRow,
  required: number,
): Promise<void> {
  if (user.isAdmin) return;
  const level = await ctx.caches.projectAccessLevels.get(`${user.id}:${project.id}`, () =>
    projectAccessLevel(ctx.db, user.id, project),
  );
  if (level < required) throw new KasmapError("forbidden", "Forbidden");
}
