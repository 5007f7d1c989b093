import { isKasmapError } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import type { StandalonePrincipal as Principal } from "./authenticate.ts";
import { checkPrincipal, isExpired, scopesEnoughFor, tokenUsableUntil } from "./credential-verdict.ts";

const user = { id: 7, username: "dev", name: "Dev", isAdmin: false };
const NOW = new Date("2026-03-10T12:00:00Z");
const HOUR = 3_600_000;
const options = { now: NOW, jobTokenMaxLifetimeMs: 24 * HOUR };

function pat(token: Partial<Extract<Principal, { kind: "user" }>["token"]>, blocked = false): Principal {
  return {
    kind: "user",
    user,
    blocked,
    token: { id: 1, scopes: ["api"], revoked: false, expiresOn: null, ...token },
  };
}

function job(overrides: Partial<Extract<Principal, { kind: "job" }>> = {}): Principal {
  return {
    kind: "job",
    user,
    blocked: false,
    jobId: 3,
    projectId: 4,
    job: { id: 3, project_id: 4, pipeline_id: 5, user_id: user.id, ref_protected: true, environment: null },
    running: true,
    createdAtMs: NOW.getTime() - HOUR,
    ...overrides,
  };
}

/** The refusal as a client sees it: status and body, or "ok". */
function verdict(principal: Principal, method = "GET", route = "/api/v4/projects/:id"): unknown {
  try {
    checkPrincipal(principal, { method, route }, options);
    return "ok";
  } catch (error) {
    if (isKasmapError(error)) return { status: error.httpStatus, body: error.toGitLabBody() };
    throw error;
  }
}

describe("checkPrincipal", () => {
  it.each([
    ["api token, GET", pat({}), "GET", "ok"],
    ["api token, POST", pat({}), "POST", "ok"],
    ["read_api token, GET", pat({ scopes: ["read_api"] }), "GET", "ok"],
    ["read_api token, HEAD", pat({ scopes: ["read_api"] }), "HEAD", "ok"],
    ["read_api token, DELETE", pat({ scopes: ["read_api"] }), "DELETE", 403],
    ["read_repository token, GET", pat({ scopes: ["read_repository"] }), "GET", 403],
    ["token expiring tomorrow", pat({ expiresOn: "2026-03-11" }), "GET", "ok"],
    ["token expiring today", pat({ expiresOn: "2026-03-10" }), "GET", 401],
    ["revoked token", pat({ revoked: true }), "GET", 401],
    ["blocked user's token", pat({}, true), "GET", 403],
    ["running job an hour old", job(), "GET", "ok"],
    ["finished job", job({ running: false }), "GET", 401],
    ["job past the lifetime", job({ createdAtMs: NOW.getTime() - 24 * HOUR }), "GET", 401],
    ["blocked user's job", job({ blocked: true }), "GET", 403],
  ])("%s → %s", (_what, principal, method, expected) => {
    const result = verdict(principal, method);
    expect(result === "ok" ? "ok" : (result as { status: number }).status).toBe(expected);
  });

  it("checks expiry before revocation and scopes, as GitLab's AccessTokenValidationService", () => {
    expect(
      verdict(pat({ expiresOn: "2020-01-01", revoked: true, scopes: ["read_api"] }), "POST"),
    ).toMatchObject({
      status: 401,
      body: { error: "invalid_token", error_description: expect.stringContaining("expired") },
    });
    expect(verdict(pat({ revoked: true, scopes: ["read_api"] }), "POST")).toMatchObject({
      body: { error_description: expect.stringContaining("revoked") },
    });
  });

  it("names every scope the route registers in insufficient_scope, as GitLab does, whatever the method", () => {
    expect(verdict(pat({ scopes: ["read_api"] }), "POST")).toMatchObject({
      status: 403,
      body: { error: "insufficient_scope", scope: "api read_api" },
    });
    expect(verdict(pat({ scopes: ["k8s_proxy"] }), "GET", "/api/v4/user")).toMatchObject({
      body: { scope: "read_user api read_api" },
    });
    // Every route of `API::Users` registers `read_user`, its writes included.
    expect(verdict(pat({ scopes: ["read_api"] }), "POST", "/api/v4/users/:id/block")).toMatchObject({
      body: { scope: "read_user api read_api" },
    });
    expect(scopesEnoughFor({ method: "POST", route: "/api/v4/users" })).toEqual(["api"]);
  });

  it("lets any scope read or revoke the calling token (API::PersonalAccessTokens::SelfInformation)", () => {
    for (const method of ["GET", "DELETE"]) {
      expect(
        verdict(pat({ scopes: ["read_repository"] }), method, "/api/v4/personal_access_tokens/self"),
      ).toBe("ok");
    }
  });

  it("counts read_api and read_user for reads only", () => {
    expect(scopesEnoughFor({ method: "POST", route: "/api/v4/groups" })).toEqual(["api"]);
    expect(scopesEnoughFor({ method: "GET", route: "/api/v4/groups/:id" })).toEqual(["api", "read_api"]);
    expect(scopesEnoughFor({ method: "GET", route: "/api/v4/user" })).toEqual([
      "read_user",
      "api",
      "read_api",
    ]);
  });
});

describe("tokenUsableUntil", () => {
  it("is the first moment isExpired holds (the start of the expiry day, UTC)", () => {
    const until = tokenUsableUntil("2026-03-11");
    expect(isExpired("2026-03-11", new Date(until - 1))).toBe(false);
    expect(isExpired("2026-03-11", new Date(until))).toBe(true);
    expect(tokenUsableUntil(null)).toBe(Number.POSITIVE_INFINITY);
    expect(tokenUsableUntil("not a date")).toBe(0);
  });
});
