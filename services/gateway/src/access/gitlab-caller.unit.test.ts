import { describe, expect, it } from "vitest";
import { GitLabCaller, gitLabCredentialOf } from "./gitlab-caller.ts";

describe("gitLabCredentialOf", () => {
  it.each([
    [{ "private-token": "p" }, {}, { kind: "private_token", token: "p" }],
    [{ authorization: "Bearer o" }, {}, { kind: "oauth", token: "o" }],
    [{ "job-token": "j" }, {}, { kind: "job_token", token: "j" }],
    [{}, { private_token: "qp" }, { kind: "private_token", token: "qp" }],
    [{}, { access_token: "qa" }, { kind: "oauth", token: "qa" }],
    [{}, { job_token: "qj" }, { kind: "job_token", token: "qj" }],
    // Headers first, in GitLab's order.
    [{ "job-token": "j", "private-token": "p" }, { job_token: "qj" }, { kind: "private_token", token: "p" }],
    [{ authorization: "Basic abc" }, {}, null],
    [{ "private-token": "  " }, {}, null],
  ])("%o %o → %o", (headers, query, expected) => {
    expect(gitLabCredentialOf(headers, query)).toEqual(expected);
  });
});

describe("GitLabCaller", () => {
  it("never shows its token when serialized, and keys caches by a digest of kind and token", () => {
    const caller = new GitLabCaller({ kind: "private_token", token: "glpat-secret" });
    expect(JSON.stringify({ user: { gitlab: caller } })).not.toContain("glpat-secret");
    expect(caller.tokenKey).toMatch(/^[0-9a-f]{64}$/);
    expect(caller.tokenKey).not.toBe(new GitLabCaller({ kind: "job_token", token: "glpat-secret" }).tokenKey);
    expect(caller.credential.token).toBe("glpat-secret");
  });
});
