import { type KasmapSystem, ok } from "@kasmap/testing/system";
import { beforeAll, describe, expect, it } from "vitest";
import { groupWithProject, kasmapSystemForFile } from "./system-for-file.ts";

/**
 * Issue 7.7: credentials behave as GitLab's do — token scopes, expiry, revocation through
 * `DELETE /personal_access_tokens/:id`, blocked users, and job tokens that end with their job.
 * Real authz and projection: every credential change travels the same path as in production.
 */
const ADMIN = "glpat-admin-credentials-test";
const system = kasmapSystemForFile({ adminToken: ADMIN });
const call: KasmapSystem["call"] = (...args) => system.call(...args);
let groupId: number;
let projectId: number;

beforeAll(async () => {
  ({ groupId, projectId } = await groupWithProject(system, ADMIN, { group: "Acme", project: "infra" }));
});

let userCount = 0;

/** A new user, a member of the group at `level` (none when null). */
async function newUser(level: number | null): Promise<number> {
  userCount += 1;
  const username = `user-${userCount}`;
  const user = await ok<{ id: number }>(
    call("POST", "/api/v4/users", ADMIN, { username, name: username }),
    201,
  );
  if (level !== null) {
    await ok(
      call("POST", `/api/v4/groups/${groupId}/members`, ADMIN, { user_id: user.id, access_level: level }),
      201,
    );
  }
  return user.id;
}

async function newToken(
  userId: number,
  params: { scopes?: string[]; expires_at?: string } = {},
): Promise<{ id: number; token: string; scopes: string[]; expires_at: string | null; active: boolean }> {
  return ok(
    call("POST", `/api/v4/users/${userId}/personal_access_tokens`, ADMIN, {
      name: "cli",
      scopes: ["api"],
      ...params,
    }),
    201,
  );
}

/** `YYYY-MM-DD`, `days` from today (UTC). */
function dayFromToday(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

async function answer(response: Promise<Response>) {
  const r = await response;
  return {
    status: r.status,
    body: (await r.json()) as unknown,
    challenge: r.headers.get("www-authenticate"),
  };
}

/** GitLab's answer to a bearer token it no longer accepts (Rack::OAuth2's invalid_token). */
function invalidToken(description: string) {
  return {
    status: 401,
    body: { error: "invalid_token", error_description: description },
    challenge: `Bearer realm="Protected by OAuth 2.0", error="invalid_token", error_description="${description}"`,
  };
}

const agentsPath = () => `/api/v4/projects/${projectId}/cluster_agents`;

describe("personal access token scopes", () => {
  it("lets a read_api token read, and refuses it every write with GitLab's insufficient_scope answer", async () => {
    const user = await newUser(40);
    const { token, scopes } = await newToken(user, { scopes: ["read_api"] });
    expect(scopes).toEqual(["read_api"]);
    expect((await call("GET", "/api/v4/user", token)).status).toBe(200);
    expect((await call("GET", agentsPath(), token)).status).toBe(200);
    const refused = await answer(call("POST", agentsPath(), token, { name: "sneaky" }));
    expect(refused).toEqual({
      status: 403,
      body: {
        error: "insufficient_scope",
        error_description: "The request requires higher privileges than provided by the access token.",
        // GitLab names every scope the endpoint registers, not only those that would do.
        scope: "api read_api",
      },
      // GitLab's Rack::OAuth2 Forbidden sets no challenge header (a FIXME in api_guard.rb).
      challenge: null,
    });
    expect((await call("GET", agentsPath(), ADMIN)).status).toBe(200);
    expect(await ok<unknown[]>(call("GET", agentsPath(), ADMIN), 200)).toEqual([]);
  });

  it("refuses a token without api or read_api on the API, naming the endpoint's scopes", async () => {
    const user = await newUser(40);
    const { token } = await newToken(user, { scopes: ["read_repository"] });
    const refused = await answer(call("GET", agentsPath(), token));
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: "insufficient_scope", scope: "api read_api" });
  });

  it("requires scopes on creation and accepts only GitLab's scope names", async () => {
    const user = await newUser(null);
    const path = `/api/v4/users/${user}/personal_access_tokens`;
    expect(await answer(call("POST", path, ADMIN, { name: "cli" }))).toMatchObject({
      status: 400,
      body: { error: "scopes is missing" },
    });
    expect(await answer(call("POST", path, ADMIN, { name: "cli", scopes: ["api", "root"] }))).toMatchObject({
      status: 400,
      body: { error: "scopes does not have a valid value" },
    });
  });
});

describe("token expiry", () => {
  it("answers an expired token 401 with GitLab's invalid_token body and challenge", async () => {
    const user = await newUser(40);
    const { token, expires_at, active } = await newToken(user, { expires_at: dayFromToday(-1) });
    expect({ expires_at, active }).toEqual({ expires_at: dayFromToday(-1), active: false });
    expect(await answer(call("GET", "/api/v4/user", token))).toEqual(
      invalidToken("Token is expired. You can either do re-authorization or token refresh."),
    );
  });

  it("honours expires_at: the token works until the day before", async () => {
    const user = await newUser(40);
    const { token, expires_at } = await newToken(user, { expires_at: dayFromToday(2) });
    expect(expires_at).toBe(dayFromToday(2));
    expect((await call("GET", "/api/v4/user", token)).status).toBe(200);
  });

  it("refuses an expires_at that is not a date", async () => {
    const user = await newUser(null);
    expect(
      await answer(
        call("POST", `/api/v4/users/${user}/personal_access_tokens`, ADMIN, {
          name: "cli",
          scopes: ["api"],
          expires_at: "next week",
        }),
      ),
    ).toMatchObject({ status: 400, body: { error: "expires_at is invalid" } });
  });
});

describe("revoking a personal access token (DELETE /personal_access_tokens/:id)", () => {
  it("lets the owner revoke their own token: 204, then GitLab's revoked answer", async () => {
    const user = await newUser(40);
    const { id, token } = await newToken(user);
    const revoked = await call("DELETE", `/api/v4/personal_access_tokens/${id}`, token);
    expect(revoked.status).toBe(204);
    expect(await answer(call("GET", "/api/v4/user", token))).toEqual(
      invalidToken("Token was revoked. You have to re-authorize from the user."),
    );
  });

  it("lets an admin revoke anyone's token, and again (204 both times)", async () => {
    const user = await newUser(40);
    const { id, token } = await newToken(user);
    expect((await call("DELETE", `/api/v4/personal_access_tokens/${id}`, ADMIN)).status).toBe(204);
    expect((await call("DELETE", `/api/v4/personal_access_tokens/${id}`, ADMIN)).status).toBe(204);
    expect((await call("GET", "/api/v4/user", token)).status).toBe(401);
  });

  it("answers another user's token and a missing one alike, and leaves the token working", async () => {
    const owner = await newUser(40);
    const victim = await newToken(owner);
    const { token: other } = await newToken(await newUser(40));
    const foreign = await answer(call("DELETE", `/api/v4/personal_access_tokens/${victim.id}`, other));
    const missing = await answer(call("DELETE", "/api/v4/personal_access_tokens/99999999", other));
    expect(foreign).toEqual({ status: 404, body: { message: "404 Not found" }, challenge: null });
    expect(missing).toEqual(foreign);
    expect((await call("GET", "/api/v4/user", victim.token)).status).toBe(200);
    expect(await answer(call("DELETE", "/api/v4/personal_access_tokens/99999999", ADMIN))).toMatchObject({
      status: 404,
      body: { message: "404 Not found" },
    });
  });
});

describe("the calling token (GET and DELETE /personal_access_tokens/self)", () => {
  it("shows the calling token with GitLab's entity, whatever its scopes", async () => {
    const user = await newUser(null);
    const created = await newToken(user, { scopes: ["read_repository"], expires_at: dayFromToday(30) });
    const self = await answer(call("GET", "/api/v4/personal_access_tokens/self", created.token));
    expect(self).toEqual({
      status: 200,
      body: {
        id: created.id,
        name: "cli",
        revoked: false,
        created_at: expect.any(String),
        scopes: ["read_repository"],
        user_id: user,
        last_used_at: null,
        active: true,
        expires_at: dayFromToday(30),
        last_used_ips: [],
      },
      challenge: null,
    });
  });

  it("revokes the calling token with any scope: 204, and it stops working at once", async () => {
    const user = await newUser(40);
    const { token } = await newToken(user, { scopes: ["read_user"] });
    const other = await newToken(user);
    expect((await call("GET", "/api/v4/user", token)).status).toBe(200);
    const revoked = await call("DELETE", "/api/v4/personal_access_tokens/self", token);
    expect(revoked.status).toBe(204);
    expect(await answer(call("GET", "/api/v4/user", token))).toEqual(
      invalidToken("Token was revoked. You have to re-authorize from the user."),
    );
    expect(await answer(call("DELETE", "/api/v4/personal_access_tokens/self", token))).toEqual(
      invalidToken("Token was revoked. You have to re-authorize from the user."),
    );
    // Only the calling token: the user's other token keeps working.
    expect((await call("GET", "/api/v4/user", other.token)).status).toBe(200);
  });
});

describe("blocking users (POST /users/:id/block, /unblock)", () => {
  it("blocks a user's tokens with GitLab's 403 and unblocking restores them", async () => {
    const user = await newUser(40);
    const { token } = await newToken(user);
    expect(await answer(call("POST", `/api/v4/users/${user}/block`, ADMIN))).toEqual({
      status: 201,
      body: true,
      challenge: null,
    });
    expect(await answer(call("GET", agentsPath(), token))).toEqual({
      status: 403,
      body: { message: "403 Forbidden - Your account has been blocked." },
      challenge: null,
    });
    expect((await call("POST", agentsPath(), token, { name: "blocked" })).status).toBe(403);
    expect(await answer(call("POST", `/api/v4/users/${user}/unblock`, ADMIN))).toMatchObject({
      status: 201,
      body: true,
    });
    expect((await call("GET", agentsPath(), token)).status).toBe(200);
  });

  it("is for admins only; unknown users are 404 User", async () => {
    const user = await newUser(50);
    const { token } = await newToken(user);
    const target = await newUser(40);
    expect(await answer(call("POST", `/api/v4/users/${target}/block`, token))).toMatchObject({
      status: 403,
      body: { message: "403 Forbidden" },
    });
    expect(await answer(call("POST", `/api/v4/users/${target}/unblock`, token))).toMatchObject({
      status: 403,
      body: { message: "403 Forbidden" },
    });
    expect(await answer(call("POST", "/api/v4/users/99999999/block", ADMIN))).toMatchObject({
      status: 404,
      body: { message: "404 User Not Found" },
    });
  });

  it("refuses to let an admin block themselves", async () => {
    const me = await ok<{ id: number }>(call("GET", "/api/v4/user", ADMIN), 200);
    expect(await answer(call("POST", `/api/v4/users/${me.id}/block`, ADMIN))).toMatchObject({
      status: 403,
      body: { message: "403 Forbidden - The API initiating user cannot be blocked by the API" },
    });
  });
});

describe("job tokens", () => {
  const jobsPath = () => `/api/v4/projects/${projectId}/jobs`;
  const allowedAgents = (jobToken: string) =>
    call("GET", "/api/v4/job/allowed_agents", jobToken, undefined, "job-token");
  /** GitLab's answer to a job token that no longer works: 401, and no challenge. */
  const refusedJobToken = { status: 401, body: { message: "401 Unauthorized" }, challenge: null };

  async function developerWithJob(): Promise<{
    userId: number;
    token: string;
    job: { id: number; token: string };
  }> {
    const userId = await newUser(30);
    const { token } = await newToken(userId);
    const job = await ok<{ id: number; token: string }>(
      call("POST", jobsPath(), token, { ref: "feature" }),
      201,
    );
    expect((await allowedAgents(job.token)).status).toBe(200);
    return { userId, token, job };
  }

  it("stop working once the job finishes itself (POST …/jobs/:job_id/finish with its JOB-TOKEN)", async () => {
    const { job } = await developerWithJob();
    const finished = await ok<{ id: number; status: string }>(
      call("POST", `${jobsPath()}/${job.id}/finish`, job.token, undefined, "job-token"),
      201,
    );
    expect(finished).toMatchObject({ id: job.id, status: "finished" });
    expect(await answer(allowedAgents(job.token))).toEqual(refusedJobToken);
  });

  it("stop working once the job's user finishes it with a personal access token", async () => {
    const { token, job } = await developerWithJob();
    await ok(call("POST", `${jobsPath()}/${job.id}/finish`, token), 201);
    expect((await allowedAgents(job.token)).status).toBe(401);
  });

  it("stop working once the job's user is no longer a Developer of the project", async () => {
    const { userId, job } = await developerWithJob();
    await ok(call("PUT", `/api/v4/groups/${groupId}/members/${userId}`, ADMIN, { access_level: 20 }), 200);
    expect(await answer(allowedAgents(job.token))).toEqual(refusedJobToken);
  });

  it("stop working when the job's user is blocked", async () => {
    const { userId, job } = await developerWithJob();
    await ok(call("POST", `/api/v4/users/${userId}/block`, ADMIN), 201);
    expect((await allowedAgents(job.token)).status).toBe(403);
  });

  it("let only a Maintainer assert a protected ref or an environment when registering a job", async () => {
    const { token } = await newToken(await newUser(30));
    const production = { name: "production", tier: "production" };
    for (const body of [{ ref_protected: true }, { environment: production }]) {
      expect(await answer(call("POST", jobsPath(), token, body))).toEqual({
        status: 403,
        body: { message: "403 Forbidden" },
        challenge: null,
      });
    }
    await ok(call("POST", jobsPath(), token, { ref_protected: false }), 201);
    const { token: maintainer } = await newToken(await newUser(40));
    const job = await ok<{ ref_protected: boolean; environment: { name: string } }>(
      call("POST", jobsPath(), maintainer, { ref_protected: true, environment: production }),
      201,
    );
    expect(job).toMatchObject({ ref_protected: true, environment: { name: "production" } });
  });
});

describe("odd ids on the credential routes", () => {
  it("answers GitLab's 4xx, never a 5xx", async () => {
    const { token: developer } = await newToken(await newUser(30));
    const cases: Array<[string, string, string, number]> = [
      ["DELETE", "/api/v4/personal_access_tokens/abc", ADMIN, 404],
      ["DELETE", "/api/v4/personal_access_tokens/99999999999999999999", ADMIN, 404],
      ["POST", "/api/v4/users/abc/block", ADMIN, 404],
      ["POST", "/api/v4/users/0/unblock", ADMIN, 404],
      ["POST", "/api/v4/users/99999999999999999999/block", ADMIN, 404],
      ["POST", `/api/v4/projects/${projectId}/jobs/abc/finish`, developer, 404],
      ["POST", `/api/v4/projects/${projectId}/jobs/99999999/finish`, developer, 404],
      ["POST", "/api/v4/projects/99999999/jobs/1/finish", developer, 404],
    ];
    for (const [method, path, token, status] of cases) {
      expect({ path, status: (await call(method, path, token)).status }).toEqual({ path, status });
    }
    // `API::Users`' `id: /[0-9]*/` requirement: no route at all, before the credential is read
    // (an empty token is none).
    for (const token of [ADMIN, developer, ""]) {
      expect(await answer(call("POST", "/api/v4/users/abc/block", token))).toEqual({
        status: 404,
        body: { error: "404 Not Found" },
        challenge: null,
      });
    }
  });

  it("lets a job token finish its own job only", async () => {
    const { token } = await newToken(await newUser(30));
    const jobs = `/api/v4/projects/${projectId}/jobs`;
    const first = await ok<{ id: number; token: string }>(call("POST", jobs, token, {}), 201);
    const second = await ok<{ id: number; token: string }>(call("POST", jobs, token, {}), 201);
    const other = await call("POST", `${jobs}/${second.id}/finish`, first.token, undefined, "job-token");
    expect({ status: other.status, body: await other.json() }).toEqual({
      status: 404,
      body: { message: "404 Job Not Found" },
    });
    const allowed = await call("GET", "/api/v4/job/allowed_agents", second.token, undefined, "job-token");
    expect(allowed.status).toBe(200);
  });
});
