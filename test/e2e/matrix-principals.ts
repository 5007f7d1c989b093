import { REST_ROUTES } from "@kasmap/contracts";
import { ACCESS_LEVEL_OF, createUserWithToken, type World } from "./principal-world.ts";

/** The GitLab roles a member of the world's group `world` may hold, lowest first. */
export const MEMBER_ROLES = ["guest", "reporter", "developer", "maintainer", "owner"] as const;

/**
 * The callers of the role × route matrix (issue 7): every way a request can be authenticated or
 * refused, and every GitLab role on the world's group `world` (so on `world/app` by inheritance).
 */
export const PRINCIPALS = [
  "none",
  "bad",
  "revoked",
  "expired",
  "read_api",
  "blocked",
  "non_member",
  ...MEMBER_ROLES,
  "admin",
  "job",
  "finished_job",
] as const;
export type PrincipalName = (typeof PRINCIPALS)[number];

/** The headers a principal sends, or why it could not be made (a failure, never a skip). */
export type PrincipalCredential = { headers: Array<[string, string]> } | { unavailable: string };

type Api = World["system"]["api"];

const privateToken = (token: string): PrincipalCredential => ({ headers: [["private-token", token]] });

/** A Maintainer of `world` whose personal access token gets `tokenFields`. */
async function maintainerWithToken(
  world: World,
  username: string,
  tokenFields: Record<string, unknown> = {},
) {
  const user = await createUserWithToken(world.system, username, tokenFields);
  const member = await world.system.api("POST", `/groups/${world.group.id}/members`, {
    user_id: user.id,
    access_level: ACCESS_LEVEL_OF.maintainer,
  });
  if (member.status !== 201) throw new Error(`membership for ${username}: ${member.status}`);
  return user;
}

function describeFailure(what: string, response: Awaited<ReturnType<Api>>): string {
  return `${what} answered ${response.status} ${JSON.stringify(response.body)}`;
}

/** A calendar date `days` from today (UTC), `YYYY-MM-DD`. */
function dateFromToday(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

async function revokedToken(world: World): Promise<PrincipalCredential> {
  const user = await maintainerWithToken(world, "matrix-revoked");
  // GitLab's `DELETE /personal_access_tokens/:id` (docs: api/personal_access_tokens.md, "Revoke a
  // personal access token"); issue 7 item 7 adds it.
  const revoked = await world.system.api("DELETE", `/personal_access_tokens/${user.tokenId}`);
  if (revoked.status !== 204)
    return { unavailable: describeFailure("DELETE /personal_access_tokens/:id", revoked) };
  return privateToken(user.token);
}

async function expiredToken(world: World): Promise<PrincipalCredential> {
  const api = world.system.api;
  const user = await api("POST", "/users", { username: "matrix-expired", name: "matrix-expired" });
  if (user.status !== 201) throw new Error(describeFailure("POST /users", user));
  const member = await api("POST", `/groups/${world.group.id}/members`, {
    user_id: user.body?.id,
    access_level: ACCESS_LEVEL_OF.maintainer,
  });
  if (member.status !== 201) throw new Error(describeFailure("membership", member));
  // GitLab: a token expiring on day D works until the end of D-1 (UTC), so one expiring today is
  // expired now; yesterday is tried first, in case creation refuses a past date.
  const refusals: string[] = [];
  for (const expires_at of [dateFromToday(-1), dateFromToday(0)]) {
    const token = await api("POST", `/users/${user.body?.id}/personal_access_tokens`, {
      name: `expires-${expires_at}`,
      scopes: ["api"],
      expires_at,
    });
    if (token.status !== 201) {
      refusals.push(describeFailure(`a token expiring ${expires_at}`, token));
      continue;
    }
    const probe = await api("GET", "/user", undefined, String(token.body?.token));
    if (probe.status === 401) return privateToken(String(token.body?.token));
    refusals.push(`a token expiring ${expires_at} still authenticates (${probe.status})`);
  }
  return { unavailable: refusals.join("; ") };
}

async function blockedUser(world: World): Promise<PrincipalCredential> {
  const user = await maintainerWithToken(world, "matrix-blocked");
  // GitLab's `POST /users/:id/block` (docs: api/users.md, "Block access to a user"); item 7.
  const blocked = await world.system.api("POST", `/users/${user.id}/block`);
  if (blocked.status !== 201) return { unavailable: describeFailure("POST /users/:id/block", blocked) };
  return privateToken(user.token);
}

/**
 * A job token of a job that finished. Item 7 adds "a documented route to finish a job"; it is
 * looked up in the route table (a POST/PUT under `…/jobs/:job_id`), and its absence fails the
 * principal instead of skipping it.
 */
async function finishedJobToken(world: World): Promise<PrincipalCredential> {
  const route = REST_ROUTES.find(
    (r) => (r.method === "post" || r.method === "put") && /\/jobs\/:[a-z_]+(\/|$)/.test(r.path),
  );
  if (!route) return { unavailable: "REST_ROUTES has no route that finishes a job (issue 7 item 7)" };
  const job = await world.system.api(
    "POST",
    `/projects/${world.project.id}/jobs`,
    {},
    world.tokens.developer,
  );
  if (job.status !== 201) throw new Error(`job: ${job.status}`);
  const path = route.path
    .replace(/^\/api\/v4/, "")
    .replace(":id", String(world.project.id))
    .replace(/:[a-z_]+/, String(job.body?.id));
  const finished = await world.system.api(route.method.toUpperCase(), path);
  if (finished.status >= 300)
    return { unavailable: describeFailure(`${route.method} ${route.path}`, finished) };
  return { headers: [["job-token", String(job.body?.token)]] };
}

/** Every principal's credential; those the system cannot make yet say why. */
export async function createPrincipals(world: World): Promise<Record<PrincipalName, PrincipalCredential>> {
  const readApi = await maintainerWithToken(world, "matrix-read-api", { scopes: ["read_api"] });
  return {
    none: { headers: [] },
    bad: privateToken("glpat-this-token-was-never-issued-0000"),
    revoked: await revokedToken(world),
    expired: await expiredToken(world),
    read_api: privateToken(readApi.token),
    blocked: await blockedUser(world),
    non_member: privateToken(world.tokens.outsider),
    guest: privateToken(world.tokens.guest),
    reporter: privateToken(world.tokens.reporter),
    developer: privateToken(world.tokens.developer),
    maintainer: privateToken(world.tokens.maintainer),
    owner: privateToken(world.tokens.owner),
    admin: privateToken(world.tokens.admin),
    job: { headers: [["job-token", world.jobToken]] },
    finished_job: await finishedJobToken(world),
  };
}
