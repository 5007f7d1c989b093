import { KasmapError } from "@kasmap/contracts";

/**
 * GitLab could not be asked (connection refused, DNS, timeout, 5xx, 429, an answer that does not
 * parse) and nothing usable is cached: access is refused, never granted by default.
 * `503 {"message":"503 Service Unavailable - GitLab is unreachable (<why>); …"}` with `Retry-After`
 * (the error handler adds it to every outage).
 */
export function gitLabUnavailable(why: string, cause: unknown): KasmapError {
  return new KasmapError(
    "unavailable_because",
    `GitLab is unreachable (${why}); Kasmap cannot check this token's access without GitLab and grants none`,
    { cause },
  );
}
