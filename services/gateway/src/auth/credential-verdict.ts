import { PERSONAL_ACCESS_TOKEN_SCOPES } from "@kasmap/contracts";
import { type StandalonePrincipal, unauthorized } from "./authenticate.ts";
import { accountBlocked, insufficientScope, tokenExpired, tokenRevoked } from "./credential-errors.ts";

/** What a request asks of its credential: the method and the route pattern it matched. */
export type RequestShape = { method: string; route: string };

/** A scope an endpoint registers, and whether it counts for this request (GitLab's `if:`). */
type RegisteredScope = { name: string; appliesTo: (method: string) => boolean };

const always = () => true;
const readsOnly = (method: string) => method === "GET" || method === "HEAD";

/** `API::API`'s scopes, registered for every route: `api`, and `read_api` for reads. */
const API_SCOPES: readonly RegisteredScope[] = [
  { name: "api", appliesTo: always },
  { name: "read_api", appliesTo: readsOnly },
];

/**
 * Endpoint classes with scopes of their own: `API::Users` adds `read_user` for reads (named in
 * `insufficient_scope` on its writes too, as GitLab reports every registered scope). Kasmap's
 * live-stream ticket is a POST that only lets its holder read the stream (`GET
 * /api/v4/events/stream`) once: `read_api` suffices for it, as for the stream itself, so a
 * console signed in with a read-only token still follows live events.
 * `API::PersonalAccessTokens::SelfInformation` registers every scope
 * (`allow_access_with_scope(all_available_scopes)`): any token may read or revoke itself.
 */
const ANY_SCOPE: readonly RegisteredScope[] = PERSONAL_ACCESS_TOKEN_SCOPES.map((name) => ({
  name,
  appliesTo: always,
}));
const USERS_SCOPES: readonly RegisteredScope[] = [{ name: "read_user", appliesTo: readsOnly }];
const ROUTE_SCOPES: ReadonlyMap<string, readonly RegisteredScope[]> = new Map([
  ...[
    "/api/v4/user",
    "/api/v4/users",
    "/api/v4/users/:id/block",
    "/api/v4/users/:id/unblock",
    "/api/v4/users/:id/personal_access_tokens",
  ].map((route) => [route, USERS_SCOPES] as const),
  ["/api/v4/personal_access_tokens/self", ANY_SCOPE],
  ["/api/v4/-/kasmap/live/tickets", [{ name: "read_api", appliesTo: always }]],
]);

/**
 * The scopes registered for the request's route, in GitLab's order (the endpoint's own, then
 * `API::API`'s) — what GitLab names in `insufficient_scope`'s `scope`, whatever the method
 * (`AccessTokenValidationService` filters by `if:` only to decide, not to report): a `read_api`
 * token on a write reads `"scope":"api read_api"`, as gitlab.com answers.
 */
export function scopesRegisteredFor(request: RequestShape): readonly RegisteredScope[] {
  return [...(ROUTE_SCOPES.get(request.route) ?? []), ...API_SCOPES];
}

/** The scopes any one of which lets a personal access token make this request. */
export function scopesEnoughFor(request: RequestShape): readonly string[] {
  const method = request.method.toUpperCase();
  return scopesRegisteredFor(request)
    .filter((scope) => scope.appliesTo(method))
    .map((scope) => scope.name);
}

/**
 * `scopesEnoughFor` of the routes seen so far, by method and route pattern (checked on every
 * request). Bounded: a route is `request.url` when no pattern matched, so unknown paths are not
 * remembered past this many.
 */
const enoughScopes = new Map<string, readonly string[]>();
const MAX_REMEMBERED_SHAPES = 1_024;

function rememberedScopesEnoughFor(request: RequestShape): readonly string[] {
  const key = `${request.method} ${request.route}`;
  const known = enoughScopes.get(key);
  if (known !== undefined) return known;
  const enough = scopesEnoughFor(request);
  if (enoughScopes.size < MAX_REMEMBERED_SHAPES) enoughScopes.set(key, enough);
  return enough;
}

/** GitLab: a token expiring on day D works until the end of D-1 (UTC). */
export function isExpired(expiresOn: string | null, now: Date): boolean {
  return expiresOn !== null && expiresOn <= now.toISOString().slice(0, 10);
}

/**
 * The first moment (ms since the epoch) `isExpired` holds for a token expiring on `expiresOn`
 * (`YYYY-MM-DD`; null: never): the start of that day, UTC. Unreadable: 0 (never usable).
 */
export function tokenUsableUntil(expiresOn: string | null): number {
  if (expiresOn === null) return Number.POSITIVE_INFINITY;
  const at = Date.parse(`${expiresOn}T00:00:00.000Z`);
  return Number.isNaN(at) ? 0 : at;
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
  principal: StandalonePrincipal,
  request: RequestShape,
  options: { now: Date; jobTokenMaxLifetimeMs: number },
): void {
  if (principal.kind === "user") {
    const { token } = principal;
    if (isExpired(token.expiresOn, options.now)) throw tokenExpired();
    if (token.revoked) throw tokenRevoked();
    const enough = rememberedScopesEnoughFor(request);
    if (!enough.some((scope) => token.scopes.includes(scope))) {
      throw insufficientScope(scopesRegisteredFor(request).map((scope) => scope.name));
    }
  } else {
    if (!principal.running) throw unauthorized();
    if (options.now.getTime() - principal.createdAtMs >= options.jobTokenMaxLifetimeMs) throw unauthorized();
  }
  if (principal.blocked) throw accountBlocked();
}
