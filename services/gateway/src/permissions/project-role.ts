import { mayPerform, type RoleAction } from "@kasmap/access-rules";
import { KasmapError, NOT_FOUND } from "@kasmap/contracts";
import type { AuthenticatedUser } from "../auth/authenticate.ts";
import type { GatewayContext } from "../context.ts";
import type { ProjectRow } from "../read-model/registry-queries.ts";

/**
 * `403 Forbidden` unless `user` may perform `action` on `project` (`ROLE_POLICY`; admins always may).
 * Called after `visibleProject` and BEFORE anything inside the project is looked up, as GitLab's
 * `authorize! :admin_cluster, user_project` runs before `find_agent!`: a caller below the role
 * then gets the same answer for an agent that exists and one that does not. authz checks the
 * role again (it is the authority); this check only fixes the order of the answers.
 *
 * `refusal` replaces the 403 where GitLab answers otherwise, e.g. agent reads below Developer
 * (`agentsNotFound`, `recordNotFound`): the answer is still the same for every agent id.
 */
export async function requireProjectRole(
  ctx: GatewayContext,
  user: AuthenticatedUser,
  project: ProjectRow,
  action: RoleAction,
  refusal: () => KasmapError = () => new KasmapError("forbidden", "Forbidden"),
): Promise<void> {
  if (user.isAdmin) return;
  const level = await ctx.access.projectLevel(user, project);
  if (!mayPerform(action, level, false)) throw refusal();
}

/**
 * GitLab's answer to a project member below Developer listing the project's agents:
 * `404 {"message":"404 ClusterAgents Not Found"}` (`not_found!('ClusterAgents') unless
 * can?(current_user, :read_cluster, user_project)`, lib/api/clusters/agents.rb).
 */
export function agentsNotFound(): KasmapError {
  return new KasmapError("not_found", NOT_FOUND.agent);
}
