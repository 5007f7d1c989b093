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
  /**
   * A request parameter missing or malformed, caught before any model is touched; the message
   * lists the problems (`"name is missing, path is invalid"`). GitLab's Grape answers these
   * `{"error": "<problems>"}`, unlike model validation (`{"message": …}`).
   */
  invalid_params: 400,
  /**
   * An expired or revoked token, refused as Rack::OAuth2 does in GitLab's `API::APIGuard`
   * (RFC 6750): the message is the `error_description`, and the answer carries
   * `WWW-Authenticate: Bearer …` (see `gitLabHeaders`).
   */
  invalid_token: 401,
  /**
   * A token with no scope the route accepts; the message is the scopes the route registers,
   * space-separated, as GitLab names them in `scope`. No `WWW-Authenticate`: GitLab's
   * Rack::OAuth2 Forbidden sets none (a known FIXME in `api_guard.rb`).
   */
  insufficient_scope: 403,
  /** GitLab's `forbidden!(reason)`: `403 Forbidden - <message>` (e.g. a blocked account). */
  forbidden_because: 403,
  /** GitLab's `not_found!` with no resource name: `404 Not found` (the message is not shown). */
  not_found_unnamed: 404,
  /**
   * GitLab's `conflict!(message)`: `409 {"message": "<message>"}`, the message as given
   * (`Member already exists`, `Username has already been taken`).
   */
  conflict: 409,
  /**
   * A model that failed to save where GitLab's endpoint renders the message itself,
   * `render_api_error!(message, 400)` (groups: `Failed to save group {:path=>[…]}`): the body is
   * `{"message": "<message>"}`, with no `400 Bad request` prefix.
   */
  save_failed: 400,
  /**
   * GitLab's `error!(message, 405)`: `405 {"error": "<message>"}`, e.g. keyset pagination asked
   * with an order the resource does not page by (lib/api/helpers/pagination_strategies.rb).
   */
  method_not_allowed: 405,
  /** A body over a documented byte limit (the message names the limit). */
  payload_too_large: 413,
  /** Over a per-caller limit (the message names it); the gateway adds `Retry-After`. */
  too_many_requests: 429,
  unavailable: 503,
  /**
   * An outage the client should know the cause of: `503 Service Unavailable - <message>` (e.g.
   * GitLab unreachable in GitLab mode, where access cannot be checked and none is granted).
   */
  unavailable_because: 503,
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
   * `{"message":"401 Unauthorized"}`, `{"message":"403 Forbidden"}`, or field errors; Grape's
   * `{"error":"name is missing"}` and Rack::OAuth2's `{"error":"invalid_token",…}` for the codes
   * GitLab answers that way.
   */
  toGitLabBody(): GitLabErrorBody {
    if (this.fields) return { message: this.fields };
    switch (this.code) {
      case "invalid_params":
      case "method_not_allowed":
        return { error: this.message };
      case "invalid_token":
        return { error: "invalid_token", error_description: this.message };
      case "insufficient_scope":
        return { error: "insufficient_scope", error_description: INSUFFICIENT_SCOPE, scope: this.message };
      case "forbidden_because":
        return { message: `403 Forbidden - ${this.message}` };
      case "not_found_unnamed":
        return { message: "404 Not found" };
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
      case "save_failed":
        return { message: this.message };
      case "payload_too_large":
        return { message: `413 Request Entity Too Large - ${this.message}` };
      case "too_many_requests":
        return { message: `429 Too Many Requests - ${this.message}` };
      case "unavailable":
        return { message: "503 Service Unavailable" };
      case "unavailable_because":
        return { message: `503 Service Unavailable - ${this.message}` };
      case "internal":
      case "poison_event":
        return { message: "500 Internal Server Error" };
    }
  }

  /** Headers GitLab sends with this error's answer: `WWW-Authenticate` for `invalid_token`. */
  gitLabHeaders(): Record<string, string> {
    if (this.code !== "invalid_token") return {};
    return {
      "www-authenticate": `Bearer realm="${BEARER_REALM}", error="invalid_token", error_description="${this.message}"`,
    };
  }
}

/** The bodies GitLab answers errors with (see `KasmapError.toGitLabBody`). */
export type GitLabErrorBody =
  | { message: string | Record<string, string[]> }
  | { error: string; error_description?: string; scope?: string };

/** The realm Rack::OAuth2 names when the error does not set one (GitLab's case). */
const BEARER_REALM = "Protected by OAuth 2.0";
const INSUFFICIENT_SCOPE = "The request requires higher privileges than provided by the access token.";

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
