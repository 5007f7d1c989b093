/**
 * One error base with stable codes. HTTP status comes from the code; clients get GitLab-style
 * bodies. Never match on message text: use `isKasmapError(e, "not_found")`.
 */
export const ERROR_CODES = {
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  bad_request: 400,
  validation_failed: 400,
  conflict: 409,
  /** A body over a documented byte limit (the message names the limit). */
  payload_too_large: 413,
  /** Over a per-caller limit (the message names it); the gateway adds `Retry-After`. */
  too_many_requests: 429,
  unavailable: 503,
  internal: 500,
  /**
   * An event a consumer can never apply (a rule or the database refuses it for good): the
   * consumer dead-letters it and goes on. The consume path's signal, distinct from
   * `validation_failed` (a client's HTTP 400); never meant for a client, so a 500 if it leaks.
   */
  poison_event: 500,
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

export class KasmapError extends Error {
  readonly code: ErrorCode;
  /** Field-level validation messages, GitLab's `{"message": {"name": ["..."]}}` form. */
  readonly fields: Record<string, string[]> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { fields?: Record<string, string[]>; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "KasmapError";
    this.code = code;
    this.fields = options?.fields;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code];
  }

  /**
   * GitLab's error body: `{"message":"404 Agent Not Found"}`, `{"message":"400 Bad request - why"}`,
   * `{"message":"413 Request Entity Too Large - <what and the limit>"}`,
   * `{"message":"429 Too Many Requests - <the limit>"}`,
   * `{"message":"401 Unauthorized"}`, `{"message":"403 Forbidden"}`, or field errors.
   */
  toGitLabBody(): { message: string | Record<string, string[]> } {
    if (this.fields) return { message: this.fields };
    switch (this.code) {
      case "unauthorized":
        return { message: "401 Unauthorized" };
      case "forbidden":
        return { message: "403 Forbidden" };
      case "not_found":
        return { message: `404 ${this.message} Not Found` };
      case "bad_request":
      case "validation_failed":
        return { message: `400 Bad request - ${this.message}` };
      case "conflict":
        return { message: `409 Conflict - ${this.message}` };
      case "payload_too_large":
        return { message: `413 Request Entity Too Large - ${this.message}` };
      case "too_many_requests":
        return { message: `429 Too Many Requests - ${this.message}` };
      case "unavailable":
        return { message: "503 Service Unavailable" };
      case "internal":
      case "poison_event":
        return { message: "500 Internal Server Error" };
    }
  }
}

export function isKasmapError(error: unknown, code?: ErrorCode): error is KasmapError {
  return error instanceof KasmapError && (code === undefined || error.code === code);
}

/** Resource names as GitLab spells them in 404 bodies. */
export const NOT_FOUND = {
  project: "Project",
  group: "Group",
  agent: "ClusterAgents",
  agentToken: "AgentToken",
  collectorToken: "CollectorToken",
  user: "User",
  personalAccessToken: "PersonalAccessToken",
  job: "Job",
  clusterInfo: "ClusterInfo",
  namespace: "Namespace",
} as const;
