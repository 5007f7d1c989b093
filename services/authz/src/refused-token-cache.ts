/** The bounds of {@link createRefusedTokenCache}. */
export type RefusedTokenCacheOptions = {
  /** How long a refusal is kept, ms. A token refused once is refused without a look for this long. */
  ttlMs: number;
  /** Most refusals kept; the oldest goes first. */
  maxEntries: number;
  /** The clock, ms since the epoch (tests move it). */
  now?: () => number;
};

/**
 * The defaults: 10 s and 10,000 entries (a SHA-256 hex digest and a number each, ~1.5 MB at most).
 * 10 s is the longest a token refused once can stay refused after it became valid: a token Kasmap
 * mints is random and never presented before it exists, so in practice only a GitLab agent token
 * presented before the sync mirrored its agent (or before GitLab knew it) waits that long.
 */
export const DEFAULT_REFUSED_TOKEN_CACHE: RefusedTokenCacheOptions = { ttlMs: 10_000, maxEntries: 10_000 };

export type RefusedTokenCache = ReturnType<typeof createRefusedTokenCache>;

/**
 * `agent_token.authenticate`'s recent refusals, by the token's SHA-256 digest (never the token):
 * a collector identity repeating a bogus token costs neither a database lookup nor a GitLab call
 * each time. Bounded in entries and time; `hits` counts the refusals answered from it.
 */
export function createRefusedTokenCache(options: RefusedTokenCacheOptions = DEFAULT_REFUSED_TOKEN_CACHE) {
  const now = options.now ?? Date.now;
  /** Digest → when the refusal expires; a Map iterates in insertion order, oldest first. */
  const refusals = new Map<string, number>();
  let hits = 0;
  return {
    /** Whether `digest` was refused within the TTL (counted as a hit when it was). */
    refuses(digest: string): boolean {
      const expiresAt = refusals.get(digest);
      if (expiresAt === undefined) return false;
      if (expiresAt <= now()) {
        refusals.delete(digest);
        return false;
      }
      hits++;
      return true;
    },
    remember(digest: string): void {
      refusals.delete(digest);
      refusals.set(digest, now() + options.ttlMs);
      while (refusals.size > options.maxEntries) refusals.delete(refusals.keys().next().value as string);
    },
    status(): { entries: number; hits: number } {
      return { entries: refusals.size, hits };
    },
  };
}
