/** Why a GitLab call failed, as a caller decides on it (retry later, 401, 404, 503 …). */
export type GitLabApiErrorKind =
  | "unreachable"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "rate_limited"
  | "server"
  | "invalid_response"
  /** The answer's body is over the call's limit; reading it stopped there. */
  | "too_large";

/**
 * A failed GitLab call. The message names the method, path and status, never a credential
 * (credentials travel only in headers, which are never copied here).
 */
export class GitLabApiError extends Error {
  override readonly name = "GitLabApiError";
  /**
   * `too_large` only: the body's size in bytes as GitLab declared it (`Content-Length`); null
   * when GitLab declared none (the body grew past the limit while it was read).
   */
  readonly bodyBytes: number | null;
  constructor(
    readonly kind: GitLabApiErrorKind,
    message: string,
    readonly status: number | null = null,
    options?: { cause?: unknown; bodyBytes?: number | null },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.bodyBytes = options?.bodyBytes ?? null;
  }
}

/** The error kind GitLab's HTTP status means; null for a success. */
export function errorKindForStatus(status: number): GitLabApiErrorKind | null {
  if (status < 400) return null;
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status === 429) return "rate_limited";
  if (status >= 500) return "server";
  return "invalid_response";
}
