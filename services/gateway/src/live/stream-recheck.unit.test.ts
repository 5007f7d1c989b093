import { KasmapError } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { GitLabCaller } from "../access/gitlab-caller.ts";
import { gitLabUnavailable } from "../access/gitlab-unavailable.ts";
import type { AuthenticatedUser } from "../auth/authenticate.ts";
import { type RecheckOutcome, type StreamEndReason, streamEndAfterRecheck } from "./stream-recheck.ts";

const caller = new GitLabCaller({ kind: "private_token", token: "glpat-stream" });
const admin: AuthenticatedUser = { id: 1, username: "root", name: "Root", isAdmin: true, gitlab: caller };

const cases: Array<[string, RecheckOutcome, StreamEndReason | null]> = [
  ["the same caller (a new object from a fresh GitLab answer)", { accepted: { ...admin } }, null],
  ["the same caller, renamed (nothing visibility reads)", { accepted: { ...admin, name: "Renamed" } }, null],
  [
    "the admin flag removed (demoted in GitLab)",
    { accepted: { ...admin, isAdmin: false } },
    "principal_changed",
  ],
  ["another user behind the credential", { accepted: { ...admin, id: 2 } }, "principal_changed"],
  [
    "another GitLab credential",
    { accepted: { ...admin, gitlab: new GitLabCaller({ kind: "oauth", token: "other" }) } },
    "principal_changed",
  ],
  [
    "401: the token revoked",
    { failed: new KasmapError("unauthorized", "401 Unauthorized") },
    "credential_refused",
  ],
  ["403: the user blocked", { failed: new KasmapError("forbidden", "Forbidden") }, "credential_refused"],
  [
    "503: GitLab down once the cached answer expired",
    { failed: gitLabUnavailable("no answer", new Error("ECONNREFUSED")) },
    "credential_unconfirmed",
  ],
  ["503: an outage", { failed: new KasmapError("unavailable", "down") }, "credential_unconfirmed"],
  ["a database error (standalone)", { failed: new Error("connect ECONNREFUSED") }, "credential_unconfirmed"],
];

describe("streamEndAfterRecheck: an open live stream after a re-check of its credential", () => {
  it.each(cases)("%s", (_case, outcome, expected) => {
    expect(streamEndAfterRecheck(admin, outcome)).toBe(expected);
  });

  it("a promoted user's stream ends too: it was filtered for a non-admin", () => {
    const user = { ...admin, isAdmin: false };
    expect(streamEndAfterRecheck(user, { accepted: admin })).toBe("principal_changed");
  });
});
