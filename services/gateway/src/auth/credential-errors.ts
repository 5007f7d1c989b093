import { KasmapError } from "@kasmap/contracts";

/**
 * The refusals GitLab answers a credential (or credential route) with a body of its own rather
 * than Kasmap's usual `{"message": "<status> <resource> Not Found"}`: its `API::APIGuard` renders
 * expired, revoked and under-scoped tokens as Rack::OAuth2 bearer errors (RFC 6750), a blocked
 * user as `403 Forbidden - <reason>`, a missing token as `404 Not found`. Each is a code of the
 * one error model; `KasmapError.toGitLabBody` and `gitLabHeaders` render them.
 */

/** GitLab's answer to a personal access token past its `expires_at`. */
export function tokenExpired(): KasmapError {
  return new KasmapError(
    "invalid_token",
    "Token is expired. You can either do re-authorization or token refresh.",
  );
}

/** GitLab's answer to a revoked personal access token. */
export function tokenRevoked(): KasmapError {
  return new KasmapError("invalid_token", "Token was revoked. You have to re-authorize from the user.");
}

/** `403 insufficient_scope` naming every scope the endpoint registers, in GitLab's order. */
export function insufficientScope(registered: readonly string[]): KasmapError {
  return new KasmapError("insufficient_scope", registered.join(" "));
}

/** `DELETE /personal_access_tokens/:id` for a token that is missing or not the caller's. */
export function tokenNotFound(): KasmapError {
  return new KasmapError("not_found_unnamed", "personal access token");
}

/** GitLab's `forbidden!(reason)`: `403 {"message":"403 Forbidden - <reason>"}`. */
export function forbiddenBecause(reason: string): KasmapError {
  return new KasmapError("forbidden_because", reason);
}

/** GitLab's `find_current_user!` for a blocked user: `403 Forbidden - Your account has been blocked.` */
export function accountBlocked(): KasmapError {
  return forbiddenBecause("Your account has been blocked.");
}
