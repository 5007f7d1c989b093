import { createHash } from "node:crypto";
import type { GitLabCredential } from "@kasmap/gitlab-api";

type Headers = Record<string, string | string[] | undefined>;
type Query = Record<string, unknown>;

/**
 * A caller's GitLab credential, held so that it never leaves the process by accident: the token
 * sits in a private field (`JSON.stringify` and loggers see only `tokenKey`), and everything
 * GitLab says about it is cached under `tokenKey`, the SHA-256 of kind and token — never the token.
 */
export class GitLabCaller {
  readonly #credential: GitLabCredential;
  readonly tokenKey: string;

  constructor(credential: GitLabCredential) {
    this.#credential = credential;
    this.tokenKey = createHash("sha256").update(`${credential.kind}:${credential.token}`).digest("hex");
  }

  /** The credential, to send to GitLab (and only there). */
  get credential(): GitLabCredential {
    return this.#credential;
  }

  get isJobToken(): boolean {
    return this.#credential.kind === "job_token";
  }

  toJSON(): { tokenKey: string } {
    return { tokenKey: this.tokenKey };
  }
}

/**
 * The GitLab credential of a request, in GitLab's order: `PRIVATE-TOKEN` header, `Authorization:
 * Bearer` (an OAuth token or a personal access token — GitLab takes both there), `JOB-TOKEN`
 * header, then the `private_token`, `access_token` and `job_token` query parameters. Null when
 * none is present.
 */
export function gitLabCredentialOf(headers: Headers, query: unknown): GitLabCredential | null {
  const header = (name: string): string | undefined => {
    const value = headers[name];
    return (Array.isArray(value) ? value[0] : value)?.trim() || undefined;
  };
  const param = (name: string): string | undefined => {
    const value = typeof query === "object" && query !== null ? (query as Query)[name] : undefined;
    return typeof value === "string" ? value.trim() || undefined : undefined;
  };
  const privateToken = header("private-token");
  if (privateToken) return { kind: "private_token", token: privateToken };
  const bearer = /^Bearer\s+(\S+)$/i.exec(header("authorization") ?? "")?.[1];
  if (bearer) return { kind: "oauth", token: bearer };
  const jobToken = header("job-token");
  if (jobToken) return { kind: "job_token", token: jobToken };
  const queryPrivate = param("private_token");
  if (queryPrivate) return { kind: "private_token", token: queryPrivate };
  const queryAccess = param("access_token");
  if (queryAccess) return { kind: "oauth", token: queryAccess };
  const queryJob = param("job_token");
  if (queryJob) return { kind: "job_token", token: queryJob };
  return null;
}
