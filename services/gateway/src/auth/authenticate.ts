import { digestToken, KasmapError } from "@kasmap/contracts";
import { sql } from "kysely";
import type { ReadModel } from "../read-model/registry-queries.ts";

export type AuthenticatedUser = { id: number; username: string; name: string; isAdmin: boolean };

/**
 * Who is calling: a user through a personal access token, or a running CI job (acting for the
 * user who started it) through its job token. `tokenExpiresOn` (`YYYY-MM-DD`) is kept so a
 * cached principal is re-checked against the calendar on every use.
 */
export type Principal =
  | { kind: "user"; user: AuthenticatedUser; tokenExpiresOn: string | null }
  | { kind: "job"; user: AuthenticatedUser; jobId: number; projectId: number };

/** The credential found in the request headers, before it is checked. */
export type Credential = { kind: "personal_access_token" | "job_token"; token: string };

type Headers = Record<string, string | string[] | undefined>;

/**
 * `PRIVATE-TOKEN: <pat>`, `Authorization: Bearer <pat>`, or `JOB-TOKEN: <token>` (GitLab's
 * order of precedence: private token first). Returns null when none is present.
 */
export function credentialFromHeaders(headers: Headers): Credential | null {
  const single = (name: string): string | undefined => {
    const value = headers[name];
    return (Array.isArray(value) ? value[0] : value)?.trim() || undefined;
  };
  const privateToken = single("private-token");
  if (privateToken) return { kind: "personal_access_token", token: privateToken };
  const bearer = /^Bearer\s+(\S+)$/i.exec(single("authorization") ?? "");
  if (bearer?.[1]) return { kind: "personal_access_token", token: bearer[1] };
  const jobToken = single("job-token");
  if (jobToken) return { kind: "job_token", token: jobToken };
  return null;
}

/**
 * Looks the credential up by its SHA-256 digest:
 * `personal_access_tokens` (not revoked) joined to `users` (active), or `jobs` (running) joined
 * to `users` (active). Expiry is checked by `isPrincipalCurrent`, not here, so the result can be
 * cached across midnight.
 */
export async function lookUpPrincipal(db: ReadModel, credential: Credential): Promise<Principal | null> {
  const digest = digestToken(credential.token);
  if (credential.kind === "personal_access_token") {
    const row = await db
      .selectFrom("read_model.personal_access_tokens as t")
      .innerJoin("read_model.users as u", "u.id", "t.user_id")
      .select([
        "u.id",
        "u.username",
        "u.name",
        "u.is_admin",
        sql<string | null>`t.expires_at::text`.as("expires_on"),
      ])
      .where("t.token_sha256", "=", digest)
      .where("t.revoked", "=", false)
      .where("u.state", "=", "active")
      .executeTakeFirst();
    if (!row) return null;
    const user = { id: row.id, username: row.username, name: row.name, isAdmin: row.is_admin };
    return { kind: "user", user, tokenExpiresOn: row.expires_on };
  }
  const row = await db
    .selectFrom("read_model.jobs as j")
    .innerJoin("read_model.users as u", "u.id", "j.user_id")
    .select(["u.id", "u.username", "u.name", "u.is_admin", "j.id as job_id", "j.project_id"])
    .where("j.token_sha256", "=", digest)
    .where("j.status", "=", "running")
    .where("u.state", "=", "active")
    .executeTakeFirst();
  if (!row) return null;
  const user = { id: row.id, username: row.username, name: row.name, isAdmin: row.is_admin };
  return { kind: "job", user, jobId: row.job_id, projectId: row.project_id };
}

/** GitLab: a token expiring on day D works until the end of D-1 (UTC). */
export function isPrincipalCurrent(principal: Principal, now: Date): boolean {
  if (principal.kind !== "user" || principal.tokenExpiresOn === null) return true;
  return principal.tokenExpiresOn > now.toISOString().slice(0, 10);
}

export function unauthorized(): KasmapError {
  return new KasmapError("unauthorized", "Unauthorized");
}
