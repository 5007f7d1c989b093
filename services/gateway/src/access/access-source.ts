import type { RoleAction } from "@kasmap/access-rules";
import type { FastifyRequest } from "fastify";
import type { RawBuilder } from "kysely";
import type { AuthenticatedUser, Principal } from "../auth/authenticate.ts";
import type { RequestShape } from "../auth/credential-verdict.ts";
import type { Stamp } from "../cache/invalidating-cache.ts";
import type { GroupRow, ProjectRow } from "../read-model/registry-queries.ts";

/**
 * A SQL condition on a project row aliased `p` (`read_model.projects as p`): true for the
 * projects the caller may act on. Query functions take it instead of the caller, so the same SQL
 * serves both access sources.
 */
export type ProjectFilter = RawBuilder<boolean>;

/**
 * Who decides access: every permission check of the gateway goes through this, so a route is
 * written once for both modes.
 * - `standalone`: Kasmap's own registry — tokens, users and memberships in the read model
 *   (`createStandaloneAccess`).
 * - `gitlab`: GitLab decides — `GET /user` / `GET /job` for the caller, `GET /projects/:id`
 *   `permissions` for a level, `GET /projects?min_access_level=` for lists, cached at most the
 *   permission TTL (`createGitLabAccess`). GitLab unreachable with nothing cached: 503.
 * Admins pass every check in both; callers test `user.isAdmin` first, as GitLab does.
 */
export type AccessSource = {
  readonly kind: "standalone" | "gitlab";
  /**
   * The caller of `request`, or the refusal: 401 for a missing or rejected credential, 403 for
   * scopes and blocked users (GitLab's bodies), 503 when GitLab cannot be asked. A job token
   * counts only where `allowJobToken` is set (elsewhere it is as good as none).
   */
  principalOf(request: FastifyRequest, options: { allowJobToken: boolean }): Promise<Principal>;
  /** The caller's access level on a project of the read model (GitLab's numbers; 0 = none). */
  projectLevel(user: AuthenticatedUser, project: ProjectRow): Promise<number>;
  /** Whether the caller may see a group (or a personal namespace). */
  namespaceVisible(user: AuthenticatedUser, namespace: GroupRow): Promise<boolean>;
  /** The projects on which the caller may perform `action` (a role-gated read), as SQL on `p`. */
  projectsWhere(user: AuthenticatedUser, action: RoleAction): Promise<ProjectFilter>;
  /**
   * The hot reads' synchronous answers (`http/hot-reads.ts`), from the caches alone. Absent: no
   * hot reads (GitLab mode).
   * - `hotCallerKey`: the key of the caller a personal access token names (`<kind>:<sha256>`,
   *   the token itself never kept), computed once per request.
   * - `cachedUserOf`: the user that caller key names when its principal is cached and accepted
   *   for `request`, else undefined — never a refusal: the full path (`principalOf`) then
   *   decides and answers. `stamps` receives the stamps of the cached entries the answer was
   *   decided from, and one that ends with the token's validity.
   */
  hotCallerKey?(token: string): string;
  cachedUserOf?(callerKey: string, request: RequestShape, stamps?: Stamp[]): AuthenticatedUser | undefined;
  /** As `projectLevel` when the answer is cached, else undefined (the full path loads it). */
  cachedProjectLevel?(user: AuthenticatedUser, project: ProjectRow, stamps?: Stamp[]): number | undefined;
};
