import { mayPerform } from "@kasmap/access-rules";
import { agentIdOfEvent, EVENT_TYPES, type KasmapEvent } from "@kasmap/contracts";
import type { AuthenticatedUser } from "../auth/authenticate.ts";
import type { GatewayContext } from "../context.ts";
import { findProject, projectIdCacheKey } from "../read-model/registry-queries.ts";

/**
 * Whether `user` may receive `event` on the live stream: admins everything; others an agent's
 * events when they hold Developer+ on the agent's configuration project (the rule for reading
 * agents), checked per event with the gateway's cached lookups so a membership change applies
 * to the next event. Collector token events need Maintainer+, as listing collector tokens does
 * (issue 9 item 5). Registry events not tied to an agent (groups, users, memberships, jobs) go to
 * admins only.
 *
 * `user` is the stream's caller as its last credential re-check found them: the admin branch asks
 * nothing more, so the stream ends when a re-check finds the caller changed (`seesEventsAlike`)
 * or cannot confirm them (`live/stream-recheck.ts`).
 */
export async function mayReceiveEvent(
  ctx: GatewayContext,
  user: AuthenticatedUser,
  event: KasmapEvent,
): Promise<boolean> {
  if (user.isAdmin) return true;
  const projectId = await configProjectOf(ctx, event);
  if (projectId === null) return false;
  const project = await ctx.caches.projects.get(projectIdCacheKey(projectId), () =>
    findProject(ctx.primaryDb, { kind: "id", id: projectId }),
  );
  if (!project) return false;
  const level = await ctx.access.projectLevel(user, project);
  return mayPerform(isCollectorTokenEvent(event) ? "admin_cluster" : "read_cluster_agent", level, false);
}

/**
 * Whether `mayReceiveEvent` decides alike for `a` and `b`: every field of the user it reads, itself
 * or through `ctx.access.projectLevel` (the id standalone, the GitLab credential in GitLab mode).
 */
export function seesEventsAlike(a: AuthenticatedUser, b: AuthenticatedUser): boolean {
  return a.id === b.id && a.isAdmin === b.isAdmin && a.gitlab?.tokenKey === b.gitlab?.tokenKey;
}

function isCollectorTokenEvent(event: KasmapEvent): boolean {
  return event.type === EVENT_TYPES.agentTokenChanged && event.data.token.kind === "collector";
}

/**
 * The agent's configuration project: from the event when it says (an agent's own change, an
 * authorization change, which also covers a just-deleted agent), else from the read model.
 */
async function configProjectOf(ctx: GatewayContext, event: KasmapEvent): Promise<number | null> {
  if (event.type === EVENT_TYPES.agentChanged) return event.data.agent.project_id;
  if (event.type === EVENT_TYPES.authzChanged) return event.data.config_project_id;
  const agentId = agentIdOfEvent(event);
  if (agentId === null) return null;
  const found = await ctx.caches.agents.get(agentId, () => ctx.loads.agent(agentId));
  return found?.agent.project_id ?? null;
}
