import { digestToken, KasmapError } from "@kasmap/contracts";
import { sql } from "kysely";
import type { GitLabCaller } from "../access/gitlab-caller.ts";
import { type CiJobRow, parseJobEnvironment } from "../read-model/ci-job-queries.ts";
import type { ReadModel } from "../read-model/registry-queries.ts";

export type AuthenticatedUser = {
  id: number;
  username: string;
  name: string;
  isAdmin: boolean;
  /** GitLab mode: the caller's credential, with which GitLab decides their access. */
  gitlab?: GitLabCaller;
};

/**
 * Who holds the credential, as the read model knows it — whether or not it may still be used.
 * The gateway caches this (dropped on changes to tokens, users and jobs) and decides on every
 * request with `credentialVerdict` (expiry, revocation, scopes, blocked users, finished jobs),
 * because the calendar and the request's method change the answer while no row does.
 */
export type StandalonePrincipal =
  | {
      kind: "user";
      user: AuthenticatedUser;
      blocked: boolean;
      token: { id: number; scopes: readonly string[]; revoked: boolean; expiresOn: string | null };
    }
  | {
      kind: "job";
      user: AuthenticatedUser;
      blocked: boolean;
      jobId: number;
      projectId: number;
      /**
       * The job's row, read with the token: a job never changes but for finishing (which drops
       * the cached principal), so `/job/allowed_agents` needs no second lookup.
       */
      job: CiJobRow;
      running: boolean;
      /** When the job was registered, ms since the epoch (the token's lifetime starts here). */
      createdAtMs: number;
    };

/** The caller of a request: a standalone principal, or one GitLab accepted. */
export type Principal =
  | StandalonePrincipal
  | {
      /** GitLab mode: GitLab accepted the credential (`GET /user`, or `GET /job` for a job token). */
      kind: "gitlab";
      user: AuthenticatedUser & { gitlab: GitLabCaller };
      /** The running job a job token belongs to, else null. */
      job: { id: number; projectId: number } | null;
    };

/** The credential found in the request headers, before it is checked. */
export type Credential = { kind: "personal_access_token" | "job_token"; token: string };

type Headers = Record<string, string | string[] | undefined>;

/**
 * The credential as GitLab's `AuthFinders` read it, in its order: the `private_token` query
 * parameter or `PRIVATE-TOKEN` header, then `Authorization: Bearer <pat>`, then the `job_token`
 * parameter or `JOB-TOKEN` header (whether a job token counts is the route's decision). A
 * parameter wins over its header, as in GitLab. Returns null when none is present.
 */
export function credentialFromHeaders(headers: Headers, query: unknown = {}): Credential | null {
  const privateToken = queryValue(query, "private_token") ?? singleHeader(headers, "private-token");
  if (privateToken) return { kind: "personal_access_token", token: privateToken };
  const bearer = /^Bearer\s+(\S+)$/i.exec(singleHeader(headers, "authorization") ?? "");
  if (bearer?.[1]) return { kind: "personal_access_token", token: bearer[1] };
  const jobToken = queryValue(query, "job_token") ?? singleHeader(headers, "job-token");
  if (jobToken) return { kind: "job_token", token: jobToken };
  return null;
}

/** A header's (first) value, trimmed; blank counts as absent. */
function singleHeader(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return (Array.isArray(value) ? value[0] : value)?.trim() || undefined;
}

/** A query parameter as Rack reads a repeated key (the last one); blank counts as absent. */
function queryValue(query: unknown, name: string): string | undefined {
  if (typeof query !== "object" || query === null) return undefined;
  const value: unknown = (query as Record<string, unknown>)[name];
  const last = Array.isArray(value) ? value.at(-1) : value;
  return typeof last === "string" ? last.trim() || undefined : undefined;
}

/** The token holder's columns, selected by both lookups from `read_model.users as u`. */
const HOLDER_COLUMNS = ["u.id", "u.username", "u.name", "u.is_admin", "u.state"] as const;

function holder(row: {
  id: number;
  username: string;
  name: string;
  is_admin: boolean;
  state: string;
}): Pick<StandalonePrincipal, "user" | "blocked"> {
  return {
    user: { id: row.id, username: row.username, name: row.name, isAdmin: row.is_admin },
    blocked: row.state !== "active",
  };
}

/**
 * Looks the credential up by its SHA-256 digest: `personal_access_tokens` joined to `users`, or
 * `jobs` joined to `users`. Revoked tokens, blocked users and finished jobs are found too, so
 * each gets GitLab's own answer; null only for a credential nobody issued.
 */
export function lookUpPrincipal(db: ReadModel, credential: Credential): Promise<StandalonePrincipal | null> {
  return lookUpPrincipalByDigest(db, credential.kind, digestToken(credential.token));
}

/** As `lookUpPrincipal`, by the token's SHA-256 (hex), as the read model keeps it. */
export async function lookUpPrincipalByDigest(
  db: ReadModel,
  kind: Credential["kind"],
  digest: string,
): Promise<StandalonePrincipal | null> {
  if (kind === "personal_access_token") {
    const row = await db
      .selectFrom("read_model.personal_access_tokens as t")
      .innerJoin("read_model.users as u", "u.id", "t.user_id")
      .select([
        ...HOLDER_COLUMNS,
        "t.id as token_id",
        "t.scopes",
        "t.revoked",
        sql<string | null>`t.expires_at::text`.as("expires_on"),
      ])
      .where("t.token_sha256", "=", digest)
      .executeTakeFirst();
    if (!row) return null;
    return {
      kind: "user",
      ...holder(row),
      token: { id: row.token_id, scopes: row.scopes, revoked: row.revoked, expiresOn: row.expires_on },
    };
  }
  const row = await db
    .selectFrom("read_model.jobs as j")
    .innerJoin("read_model.users as u", "u.id", "j.user_id")
    .select([
      ...HOLDER_COLUMNS,
      "j.id as job_id",
      "j.project_id",
      "j.pipeline_id",
      "j.user_id as job_user_id",
      "j.ref_protected",
      "j.environment",
      "j.status",
      "j.created_at",
    ])
    .where("j.token_sha256", "=", digest)
    .executeTakeFirst();
  if (!row) return null;
  return {
    kind: "job",
    ...holder(row),
    jobId: row.job_id,
    projectId: row.project_id,
    job: {
      id: row.job_id,
      project_id: row.project_id,
      pipeline_id: row.pipeline_id,
      user_id: row.job_user_id,
      ref_protected: row.ref_protected,
      environment: parseJobEnvironment(row.environment),
    },
    running: row.status === "running",
    createdAtMs: new Date(row.created_at).getTime(),
  };
}

export function unauthorized(): KasmapError {
  return new KasmapError("unauthorized", "Unauthorized");
}
