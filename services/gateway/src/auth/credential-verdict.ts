import { type Principal, unauthorized } from "./authenticate.ts";
import { accountBlocked, insufficientScope, tokenExpired, tokenRevoked } from "./credential-errors.ts";

/** What a request asks of its credential: the method and the route pattern it matched. */
export type RequestShape = { method: string; route: string };

/** Routes that also take GitLab's `read_user` scope on reads (`API::Users` registers it). */
const READ_USER_ROUTES = new Set(["/api/v4/user"]);

/**
 * The scopes any one of which lets a personal access token make this request, in GitLab's order
 * (the endpoint's own, then `API::API`'s): `api` always; `read_api` on GET and HEAD only
 * (`allow_access_with_scope :read_api, if: ->(request) { request.get? || request.head? }`).
 */
export function scopesEnoughFor(request: RequestShape): readonly string[] {
  const method = request.method.toUpperCase();
  if (method !== "GET" && method !== "HEAD") return ["api"];
  return READ_USER_ROUTES.has(request.route) ? ["read_user", "api", "read_api"] : ["api", "read_api"];
}

/** GitLab: a token expiring on day D works until the end of D-1 (UTC). */
export function isExpired(expiresOn: string | null, now: Date): boolean {
  return expiresOn !== null && expiresOn <= now.toISOString().slice(0, 10);
}

/**
 * Throws GitLab's refusal for a credential that exists but may not make this request, checked
 * in GitLab's order (`AccessTokenValidationService`, then `find_current_user!`):
 * - personal access token: expired → 401 `invalid_token`; revoked → 401 `invalid_token`;
 *   no scope enough for the request → 403 `insufficient_scope`; blocked owner → 403;
 * - job token: job finished, or older than `jobTokenMaxLifetimeMs` → 401 (GitLab's
 *   `Ci::AuthJobFinder` only knows running jobs); blocked user → 403.
 * The job user's membership is re-checked by the caller (it needs the read model).
 */
export function checkPrincipal(
  principal: Principal,
  request: RequestShape,
  options: { now: Date; jobTokenMaxLifetimeMs: number },
): void {
  if (principal.kind === "user") {
    const { token } = principal;
    if (isExpired(token.expiresOn, options.now)) throw tokenExpired();
    if (token.revoked) throw tokenRevoked();
    const enough = scopesEnoughFor(request);
    if (!enough.some((scope) => token.scopes.includes(scope))) throw insufficientScope(enough);
  } else {
    if (!principal.running) throw unauthorized();
    if (options.now.getTime() - principal.createdAtMs >= options.jobTokenMaxLifetimeMs) throw unauthorized();
  }
  if (principal.blocked) throw accountBlocked();
}
