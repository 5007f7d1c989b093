import type { PrincipalName } from "./matrix-principals.ts";

/**
 * The expected status of every route × principal, written by hand from GitLab's documentation —
 * NOT derived from Kasmap's role tables — so the matrix catches a rule that drifted in code.
 * Where Kasmap departs from GitLab on purpose, the row keeps GitLab's status and names Kasmap's in
 * `kasmap` with the reason, so every departure is visible here and in the test output.
 *
 * Sources (docs.gitlab.com):
 * - [AUTH] api/rest/authentication.md: no, unknown, expired or revoked token → 401; a token
 *   without the needed scope → 403 `insufficient_scope`; `read_api` grants read (GET) access only
 *   (user/profile/personal_access_tokens.md, "Personal access token scopes").
 * - [BLOCK] api/users.md "Block access to a user": a blocked user can no longer use the API;
 *   GitLab answers `403 Forbidden - Your account has been blocked.` (lib/api/helpers.rb).
 * - [JOB] ci/jobs/ci_job_token.md: a job token works only on the endpoints that accept it and only
 *   while the job runs; elsewhere it is no credential (401). `GET /job/allowed_agents` with a
 *   token that is not a job token → `404 Job Not Found` (lib/api/ci/jobs.rb,
 *   `validate_current_authenticated_job`).
 * - [AGENTS] api/cluster_agents.md: list/get agents and tokens: at least Developer; register,
 *   delete, create/revoke tokens: at least Maintainer. Below Developer a member gets 404, not
 *   403 (lib/api/clusters/agents.rb: `not_found!('ClusterAgents')` on the list; elsewhere
 *   `AgentsFinder#find` finds nothing the caller may not `read_cluster_agent` → `404 Not found`).
 * - [PERMS] user/permissions.md: private project/group visible to members only (others 404);
 *   create top-level group: any user (default setting); transfer group/project: Owner (and
 *   Maintainer+ on the target); manage group members: Owner; manage project members: Maintainer.
 * - [MEMBERS] api/members.md "Edit a member of a group or project": `PUT …/members/:user_id`
 *   with `access_level`; the roles are [PERMS]'s "manage members".
 * - [USERS] api/users.md: create user, create a user's personal access token: administrators only
 *   (403 otherwise); [PROJECTS] api/projects.md "Create project": any user, in their namespace.
 * - [AUDIT] api/audit_events.md: project audit events: Maintainer+ see all, a Developer only their
 *   own; instance audit events: administrators.
 * - [GROUPS] api/groups.md "List groups": authenticated users see their groups (administrators
 *   all); anonymous callers see public groups.
 * - [KASMAP] Kasmap's extensions have no GitLab page; their rule is README.md ("The REST API",
 *   "Incident response and verification"): agent-derived reads need Developer, like agent reads.
 */
export type RoleStatuses = Record<
  "read_api" | "non_member" | "guest" | "reporter" | "developer" | "maintainer" | "owner" | "admin",
  number
>;

export type MatrixRow = {
  /** GitLab's status for every principal. */
  gitlab: Record<PrincipalName, number>;
  /** Kasmap's status where it departs from GitLab on purpose, with the reason. */
  kasmap?: { statuses: Partial<Record<PrincipalName, number>>; reason: string };
};

const EVERYONE_200: Record<PrincipalName, number> = {
  none: 200,
  bad: 200,
  revoked: 200,
  expired: 200,
  read_api: 200,
  blocked: 200,
  non_member: 200,
  guest: 200,
  reporter: 200,
  developer: 200,
  maintainer: 200,
  owner: 200,
  admin: 200,
  job: 200,
  finished_job: 200,
};

/** A path GitLab does not have: 404 from GitLab, and from Kasmap where the route is off. */
const EVERYONE_404: Record<PrincipalName, number> = Object.fromEntries(
  Object.keys(EVERYONE_200).map((principal) => [principal, 404]),
) as Record<PrincipalName, number>;

/** [AUTH], [BLOCK], [JOB]: refused before any role is looked at, on every authenticated route. */
const REFUSED = {
  none: 401,
  bad: 401,
  revoked: 401,
  expired: 401,
  blocked: 403,
  job: 401,
  finished_job: 401,
} as const;

const authenticated = (roles: RoleStatuses, job: { job?: number } = {}): Record<PrincipalName, number> => ({
  ...REFUSED,
  ...roles,
  ...job,
});

/** [AGENTS]/[KASMAP] a read that needs Developer on the project (read_api's user is a Maintainer); below, 404. */
const DEVELOPER_READ: RoleStatuses = {
  read_api: 200,
  non_member: 404,
  guest: 404,
  reporter: 404,
  developer: 200,
  maintainer: 200,
  owner: 200,
  admin: 200,
};
/** [KASMAP] an extension read with Developer on the project; below, 404 as every agent read. */
const EXTENSION_DEVELOPER_READ: RoleStatuses = DEVELOPER_READ;

/** [AGENTS] a Maintainer write on the project answering `status`; read_api → insufficient_scope. */
const maintainerWrite = (status: number): RoleStatuses => ({
  read_api: 403,
  non_member: 404,
  guest: 403,
  reporter: 403,
  developer: 403,
  maintainer: status,
  owner: status,
  admin: status,
});
/** [PERMS] an Owner-only write. */
const ownerWrite = (status: number): RoleStatuses => ({ ...maintainerWrite(status), maintainer: 403 });
/** [USERS] an administrators-only call. */
const adminOnly = (status: number): RoleStatuses => ({
  read_api: 403,
  non_member: 403,
  guest: 403,
  reporter: 403,
  developer: 403,
  maintainer: 403,
  owner: 403,
  admin: status,
});
/** Any authenticated user gets `status`; read_api gets `readApi`. */
const anyUser = (status: number, readApi: number): RoleStatuses => ({
  read_api: readApi,
  non_member: status,
  guest: status,
  reporter: status,
  developer: status,
  maintainer: status,
  owner: status,
  admin: status,
});
const MEMBERS_SEE: RoleStatuses = { ...anyUser(200, 200), non_member: 404 };

// biome-ignore format: one route per line reads as the table it is
export const MATRIX: Record<string, MatrixRow> = {
  "GET /-/health": { gitlab: EVERYONE_200 },
  "GET /-/readiness": { gitlab: EVERYONE_200 },
  "GET /metrics": { gitlab: EVERYONE_200 },
  "GET /api/v4/openapi.json": { gitlab: EVERYONE_200 },
  // [KASMAP] GitLab mode's delivery routes (issue 9) take GitLab's hook secret, not a user's
  // token; this matrix runs Kasmap standalone, where they do not exist. GitLab mode:
  // test/e2e/gitlab-mode-mirror.e2e.test.ts and services/gateway/src/gitlab-inbox-routes.int.test.ts.
  "POST /api/v4/-/gitlab/hooks": { gitlab: EVERYONE_404 },
  "POST /api/v4/-/gitlab/audit-events": { gitlab: EVERYONE_404 },
  "GET /api/v4/asyncapi.json": { gitlab: EVERYONE_200 },
  "GET /api/v4/docs": { gitlab: EVERYONE_200 },
  // [PERMS] any user may create a top-level group.
  "POST /api/v4/groups": { gitlab: authenticated(anyUser(201, 403)) },
  // [GROUPS] api/groups.md "List groups": any user gets the groups they may see (a non-member an
  // empty list), without a token GitLab lists public groups. Kasmap has no public groups and
  // answers 401 without a credential, as on every other read.
  "GET /api/v4/groups": {
    gitlab: { ...authenticated(anyUser(200, 200)), none: 200 },
    kasmap: { statuses: { none: 401 }, reason: "README: no credential is 401 on every API read; GitLab lists its public groups (Kasmap has none)" },
  },
  "GET /api/v4/groups/:id": { gitlab: authenticated(MEMBERS_SEE) },
  // [PERMS] a fresh subgroup of `world` made top-level: Owner of the group.
  "POST /api/v4/groups/:id/transfer": { gitlab: authenticated(ownerWrite(201)) },
  // [MEMBERS] read the members: anyone who may see the group (lib/api/members.rb `find_source`).
  "GET /api/v4/groups/:id/members": { gitlab: authenticated(MEMBERS_SEE) },
  "GET /api/v4/groups/:id/members/all": { gitlab: authenticated(MEMBERS_SEE) },
  "GET /api/v4/groups/:id/members/:user_id": { gitlab: authenticated(MEMBERS_SEE) },
  "GET /api/v4/groups/:id/members/all/:user_id": { gitlab: authenticated(MEMBERS_SEE) },
  "POST /api/v4/groups/:id/members": { gitlab: authenticated(ownerWrite(201)) },
  // [MEMBERS] change a direct member's level: Owner of a group.
  "PUT /api/v4/groups/:id/members/:user_id": { gitlab: authenticated(ownerWrite(200)) },
  // [PROJECTS] without namespace_id: in the caller's own namespace.
  "POST /api/v4/projects": { gitlab: authenticated(anyUser(201, 403)) },
  "GET /api/v4/projects/:id": { gitlab: authenticated(MEMBERS_SEE) },
  // [PERMS] a fresh project of `world` moved to `world/dest`: Owner of the project.
  "PUT /api/v4/projects/:id/transfer": { gitlab: authenticated(ownerWrite(200)) },
  // [MEMBERS] read the members: anyone who may see the project (lib/api/members.rb `find_source`).
  "GET /api/v4/projects/:id/members": { gitlab: authenticated(MEMBERS_SEE) },
  "GET /api/v4/projects/:id/members/all": { gitlab: authenticated(MEMBERS_SEE) },
  "GET /api/v4/projects/:id/members/:user_id": { gitlab: authenticated(MEMBERS_SEE) },
  "GET /api/v4/projects/:id/members/all/:user_id": { gitlab: authenticated(MEMBERS_SEE) },
  // [PERMS] manage project members: Maintainer+ (a Guest is added; granting Owner needs Owner,
  // covered by services/authz/src/registry-commands.int.test.ts and the gateway's member tests).
  "POST /api/v4/projects/:id/members": { gitlab: authenticated(maintainerWrite(201)) },
  // [MEMBERS] change a direct member's level: Maintainer+ of a project.
  "PUT /api/v4/projects/:id/members/:user_id": { gitlab: authenticated(maintainerWrite(200)) },
  "GET /api/v4/user": { gitlab: authenticated(anyUser(200, 200)) },
  "POST /api/v4/users": { gitlab: authenticated(adminOnly(201)) },
  "POST /api/v4/users/:id/personal_access_tokens": { gitlab: authenticated(adminOnly(201)) },
  "GET /api/v4/projects/:id/cluster_agents": { gitlab: authenticated(DEVELOPER_READ) },
  "POST /api/v4/projects/:id/cluster_agents": { gitlab: authenticated(maintainerWrite(201)) },
  "GET /api/v4/projects/:id/cluster_agents/:agent_id": { gitlab: authenticated(DEVELOPER_READ) },
  "DELETE /api/v4/projects/:id/cluster_agents/:agent_id": { gitlab: authenticated(maintainerWrite(204)) },
  "GET /api/v4/projects/:id/cluster_agents/:agent_id/cluster_info": { gitlab: authenticated(EXTENSION_DEVELOPER_READ) },
  // [KASMAP] who can deploy with the agent: read as the agent itself (its cluster_info too).
  "GET /api/v4/projects/:id/cluster_agents/:agent_id/deployable_by": { gitlab: authenticated(EXTENSION_DEVELOPER_READ) },
  // [KASMAP] the config file is written like an agent: Maintainer.
  "PUT /api/v4/projects/:id/cluster_agents/:agent_id/configuration": { gitlab: authenticated(maintainerWrite(200)) },
  "GET /api/v4/projects/:id/cluster_agents/:agent_id/tokens": { gitlab: authenticated(DEVELOPER_READ) },
  "POST /api/v4/projects/:id/cluster_agents/:agent_id/tokens": { gitlab: authenticated(maintainerWrite(201)) },
  "GET /api/v4/projects/:id/cluster_agents/:agent_id/tokens/:token_id": { gitlab: authenticated(DEVELOPER_READ) },
  "DELETE /api/v4/projects/:id/cluster_agents/:agent_id/tokens/:token_id": { gitlab: authenticated(maintainerWrite(204)) },
  // [KASMAP] collector tokens (issue 9 item 5; README "Collector tokens"): every call Maintainer+,
  // as managing agent tokens in GitLab (admin_cluster); the list is a read, open to read_api.
  "GET /api/v4/projects/:id/cluster_agents/:agent_id/collector_tokens": { gitlab: authenticated({ ...maintainerWrite(200), read_api: 200 }) },
  "POST /api/v4/projects/:id/cluster_agents/:agent_id/collector_tokens": { gitlab: authenticated(maintainerWrite(201)) },
  "DELETE /api/v4/projects/:id/cluster_agents/:agent_id/collector_tokens/:token_id": { gitlab: authenticated(maintainerWrite(204)) },
  // [KASMAP] lookup answers every user, listing only the agents they may read.
  "GET /api/v4/clusters/lookup": { gitlab: authenticated(anyUser(200, 200)) },
  // [KASMAP] verify reads the agent (Developer) but is a POST: read_api's scope does not cover it.
  "POST /api/v4/projects/:id/cluster_agents/:agent_id/cluster_info/verify": { gitlab: authenticated({ ...EXTENSION_DEVELOPER_READ, read_api: 403 }) },
  // [KASMAP] the group inventory answers every member of the group, listing readable agents.
  "GET /api/v4/groups/:id/cluster_agents": { gitlab: authenticated(MEMBERS_SEE) },
  // [AUDIT] a Developer gets the list, with only their own events.
  "GET /api/v4/projects/:id/audit_events": { gitlab: authenticated({ ...MEMBERS_SEE, guest: 403, reporter: 403 }) },
  "GET /api/v4/audit_events": { gitlab: authenticated(adminOnly(200)) },
  // [AUDIT] one project event: Maintainer+; a Developer reads only their own and gets 404 for
  // others' (ee/lib/ee/api/projects.rb finds it among the events the list shows them; the
  // world's event is the admin's). The instance one: admins.
  "GET /api/v4/projects/:id/audit_events/:audit_event_id": { gitlab: authenticated({ ...MEMBERS_SEE, guest: 403, reporter: 403, developer: 404 }) },
  "GET /api/v4/audit_events/:id": { gitlab: authenticated(adminOnly(200)) },
  // [KASMAP] the same audit events on Kasmap-only paths (kept in GitLab mode, where the paths
  // above are GitLab's): project events as above, instance events for admins.
  "GET /api/v4/-/kasmap/projects/:id/audit_events": { gitlab: authenticated({ ...MEMBERS_SEE, guest: 403, reporter: 403 }) },
  "GET /api/v4/-/kasmap/audit_events": { gitlab: authenticated(adminOnly(200)) },
  "GET /api/v4/-/kasmap/projects/:id/audit_events/:audit_event_id": { gitlab: authenticated({ ...MEMBERS_SEE, guest: 403, reporter: 403, developer: 404 }) },
  "GET /api/v4/-/kasmap/audit_events/:id": { gitlab: authenticated(adminOnly(200)) },
  "GET /api/v4/projects/:id/cluster_agents/:agent_id/cluster_info/history": { gitlab: authenticated(EXTENSION_DEVELOPER_READ) },
  // [KASMAP] every user may open the stream; it carries only what they may read.
  "GET /api/v4/events/stream": { gitlab: authenticated(anyUser(200, 200)) },
  // [KASMAP] the console's single-use ticket for the stream (issue 13): any user, read_api too
  // (it only opens the stream, a read).
  "POST /api/v4/-/kasmap/live/tickets": { gitlab: authenticated(anyUser(201, 201)) },
  // [KASMAP] the console's page and files are public (they hold no data: every answer they show
  // comes from the API with the user's own token).
  "GET /-/console": { gitlab: EVERYONE_200 },
  "GET /-/console/:file": { gitlab: EVERYONE_200 },
  "GET /api/v4/job/allowed_agents": { gitlab: authenticated(anyUser(404, 404), { job: 200 }) },
  "GET /api/v4/projects/:id/allowed_agents": { gitlab: authenticated(EXTENSION_DEVELOPER_READ) },
  "GET /api/v4/projects/:id/cluster_agents/:agent_id/authorization/explain": { gitlab: authenticated(EXTENSION_DEVELOPER_READ) },
  // [KASMAP] registering a job is what a pipeline of a Developer does.
  "POST /api/v4/projects/:id/jobs": { gitlab: authenticated({ ...maintainerWrite(201), developer: 201 }) },
  // Issue 7 item 7 (branch w3-credentials). api/personal_access_tokens.md: admins revoke any
  // token, others only their own (the target here is another user's token).
  // api/personal_access_tokens.md "Get single personal access token" / "Revoke a personal access
  // token" with `self`: the calling token, with any scope (`allow_access_with_scope(all_available_scopes)`).
  // The revoking cell sends a throwaway copy of the principal's token (matrix-cells.ts).
  "GET /api/v4/personal_access_tokens/self": { gitlab: authenticated(anyUser(200, 200)) },
  "DELETE /api/v4/personal_access_tokens/self": { gitlab: authenticated(anyUser(204, 204)) },
  "DELETE /api/v4/personal_access_tokens/:id": {
    gitlab: authenticated({ ...adminOnly(204), read_api: 403, non_member: 400, guest: 400, reporter: 400, developer: 400, maintainer: 400, owner: 400 }),
    kasmap: { statuses: { non_member: 404, guest: 404, reporter: 404, developer: 404, maintainer: 404, owner: 404 }, reason: "someone else's token answers 404 like a missing one (GitLab's 400 tells it exists)" },
  },
  "POST /api/v4/users/:id/block": { gitlab: authenticated(adminOnly(201)) },
  "POST /api/v4/users/:id/unblock": { gitlab: authenticated(adminOnly(201)) },
  // [KASMAP] (item 7) a fresh job of `world/app` finished by Developer+, or by its own job token
  // only: the world's job token asking for another job gets 404, as for a missing one.
  "POST /api/v4/projects/:id/jobs/:job_id/finish": { gitlab: authenticated({ ...maintainerWrite(201), developer: 201 }, { job: 404 }) },
};

/** Kasmap's expected status: its departure where it has one, else GitLab's. */
export function expectedStatus(row: MatrixRow, principal: PrincipalName): number {
  return row.kasmap?.statuses[principal] ?? row.gitlab[principal];
}
