import { KasmapError } from "@kasmap/contracts";

/**
 * A credential (or credential route) GitLab refuses with a body of its own rather than Kasmap's
 * usual `{"message": "<status> <resource> Not Found"}`: its `API::APIGuard` renders expired,
 * revoked and under-scoped tokens as Rack::OAuth2 bearer errors (RFC 6750), a blocked user as
 * `403 Forbidden - <reason>`, a missing token as `404 Not found`. The error handler sends `body`
 * and `headers` as they are.
 */
export class CredentialRefusedError extends KasmapError {
  constructor(
    code: "unauthorized" | "forbidden" | "not_found",
    readonly body: Record<string, string>,
    readonly headers: Record<string, string> = {},
  ) {
    super(code, Object.values(body).join(" "));
    this.name = "CredentialRefusedError";
  }
}

/** The realm Rack::OAuth2 names when the error does not set one (GitLab's case). */
const BEARER_REALM = "Protected by OAuth 2.0";

/**
 * `401 {"error":"invalid_token","error_description":"…"}` with
 * `WWW-Authenticate: Bearer realm="Protected by OAuth 2.0", error="invalid_token", error_description="…"`.
 */
function invalidToken(description: string): CredentialRefusedError {
  return new CredentialRefusedError(
    "unauthorized",
    { error: "invalid_token", error_description: description },
    {
      "www-authenticate": `Bearer realm="${BEARER_REALM}", error="invalid_token", error_description="${description}"`,
    },
  );
}

/** GitLab's answer to a personal access token past its `expires_at`. */
export function tokenExpired(): CredentialRefusedError {
  return invalidToken("Token is expired. You can either do re-authorization or token refresh.");
}

/** GitLab's answer to a revoked personal access token. */
export function tokenRevoked(): CredentialRefusedError {
  return invalidToken("Token was revoked. You have to re-authorize from the user.");
}

/**
 * `403 {"error":"insufficient_scope","error_description":"…","scope":"api read_api"}`: `scope`
 * lists the scopes the endpoint registers, space-separated. No `WWW-Authenticate` header: GitLab's
 * Rack::OAuth2 Forbidden sets none (a known FIXME in `api_guard.rb`); Kasmap matches it.
 */
export function insufficientScope(registered: readonly string[]): CredentialRefusedError {
  return new CredentialRefusedError("forbidden", {
    error: "insufficient_scope",
    error_description: "The request requires higher privileges than provided by the access token.",
    scope: registered.join(" "),
  });
}

/** `DELETE /personal_access_tokens/:id` for a token that is missing or not the caller's. */
export function tokenNotFound(): CredentialRefusedError {
  return new CredentialRefusedError("not_found", { message: "404 Not found" });
}

/** GitLab's `forbidden!(reason)`: `403 {"message":"403 Forbidden - <reason>"}`. */
export function forbiddenBecause(reason: string): CredentialRefusedError {
  return new CredentialRefusedError("forbidden", { message: `403 Forbidden - ${reason}` });
}

/** GitLab's `find_current_user!` for a blocked user: `403 Forbidden - Your account has been blocked.` */
export function accountBlocked(): CredentialRefusedError {
  return forbiddenBecause("Your account has been blocked.");
}
