import { mayPerform, type RoleAction } from "@kasmap/access-rules";
import { KasmapError, NOT_FOUND } from "@kasmap/contracts";
import type { AuthenticatedUser } from "../auth/authenticate.ts";
import type { GatewayContext } from "../context.ts";
import {
  findGroup,
  findProject,
  type GroupRow,
  type ProjectRow,
  projectCacheKey,
} from "../read-model/registry-queries.ts";
import { parseResourceId } from "../read-model/resource-id.ts";

/**
 * The project `rawId` names (numeric id or full path) if `user` may perform the read `action` on
 * it (`ROLE_POLICY`; admins always may; writes are checked again by authz, the authority). Otherwise `404 Project Not Found`, the same answer as for a project that
 * does not exist, so callers cannot probe for existence. GitLab's agent routes take the project
 * with `read_project` and refuse a member below Developer after it (`requireProjectRole` with
 * GitLab's 404 bodies); Kasmap's own reads below the agent do the same.
 */
export async function visibleProject(
  ctx: GatewayContext,
  user: AuthenticatedUser,
  rawId: string,
  action: RoleAction,
): Promise<ProjectRow> {
  const id = parseResourceId(rawId);
  if (!id) throw new KasmapError("not_found", NOT_FOUND.project);
  const project = await ctx.caches.projects.get(projectCacheKey(id), () => findProject(ctx.primaryDb, id));
  if (!project) throw new KasmapError("not_found", NOT_FOUND.project);
  if (user.isAdmin) return project;
  const level = await ctx.access.projectLevel(user, project);
  if (!mayPerform(action, level, false)) throw new KasmapError("not_found", NOT_FOUND.project);
  return project;
}

/**
 * As `visibleProject` for groups: visible to members of it, its ancestors or anything inside it.
 * A personal (user) namespace is not a group (GitLab's groups API never shows one): 404 Group.
 */
export async function visibleGroup(
  ctx: GatewayContext,
  user: AuthenticatedUser,
  rawId: string,
): Promise<GroupRow> {
  const group = await visibleNamespaceOrNull(ctx, user, rawId);
  if (group?.kind !== "group") throw new KasmapError("not_found", NOT_FOUND.group);
  return group;
}

/**
 * A namespace of either kind the caller may see, as a project's home or a transfer's target;
 * otherwise `404 Namespace Not Found`. A personal namespace is visible to its owner (who holds
 * Owner on it) and to members of its projects; authz decides whether they may put projects there.
 */
export async function visibleNamespace(
  ctx: GatewayContext,
  user: AuthenticatedUser,
  rawId: string,
): Promise<GroupRow> {
  const namespace = await visibleNamespaceOrNull(ctx, user, rawId);
  if (!namespace) throw new KasmapError("not_found", NOT_FOUND.namespace);
  return namespace;
}

async function visibleNamespaceOrNull(
  ctx: GatewayContext,
  user: AuthenticatedUser,
  rawId: string,
): Promise<GroupRow | null> {
  const id = parseResourceId(rawId);
  if (!id) return null;
  const namespace = await findGroup(ctx.db, id);
  if (!namespace) return null;
  if (user.isAdmin) return namespace;
  return (await ctx.access.namespaceVisible(user, namespace)) ? namespace : null;
}

/** Admin-only endpoints answer `403 Forbidden` to everyone else, as GitLab's `authenticated_as_admin!`. */
export function requireAdmin(user: AuthenticatedUser): void {
  if (!mayPerform("admin_all_resources", 0, user.isAdmin)) throw new KasmapError("forbidden", "Forbidden");
}
