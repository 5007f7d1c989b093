import type { CiAccessConfig } from "@kasmap/contracts";

/** What the filter needs of a CI job. Registry `Job` objects fit as they are. */
export interface JobContext {
  /** The job's deployment environment, or null when the job deploys nowhere. */
  environment: { name: string } | null;
  /** Whether the job's ref is protected; null = unknown, which denies every agent. */
  ref_protected: boolean | null;
}

/**
 * GitLab's `CiAccess::FilterService`: keeps the authorizations a given job may use.
 * - `environments` blank or absent: passes; otherwise the job's environment must match an entry.
 * - ref protection unknown: nothing passes (GitLab cannot tell, so it denies all).
 * - ref unprotected: entries with `protected_branches_only: true` are dropped.
 */
export function filterAuthorizationsForJob<T extends { config: CiAccessConfig }>(
  authorizations: readonly T[],
  job: JobContext,
): T[] {
  return authorizations.filter((authorization) => jobDenialReason(authorization.config, job) === null);
}

/** Why `job` may not use an authorization with `config`, in words; null when it may. */
export function jobDenialReason(config: CiAccessConfig, job: JobContext): string | null {
  const environments = config.environments ?? [];
  if (environments.length > 0) {
    const listed = environments.join(", ");
    if (job.environment === null) return `the job has no environment; the agent allows only: ${listed}`;
    const name = job.environment.name;
    if (!environments.some((pattern) => environmentMatches(pattern, name))) {
      return `environment "${name}" matches none of: ${listed}`;
    }
  }
  if (job.ref_protected === null)
    return "the job's ref protection status is unknown, which denies every agent";
  if (!job.ref_protected && config.protected_branches_only === true) {
    return "the job's ref is not protected and the agent allows protected branches only";
  }
  return null;
}

/**
 * Does an `environments` entry match an environment name? `*` matches any run of characters
 * (including none and `/`); everything else matches itself.
 *
 * Deliberate departure from GitLab: GitLab turns `*` into `.*` in an UNANCHORED regex without
 * escaping the rest, so `review/*` also matches `x-review/y`, and the `.` of `v1.*` matches any
 * character (`v1x`).
 * Kasmap anchors the pattern at both ends and treats every other character literally: an
 * `environments` list is an allow-list, and a partial match would grant more than it reads.
 *
 * No regular expression: whoever may write an agent config chooses the pattern and a job (or
 * the explain route) chooses the name, and a backtracking `.*a.*a…` regex takes O(n^k) for k
 * stars. The literals between stars are found greedily, leftmost first (a later match never
 * helps a `*`-only glob), each with Knuth–Morris–Pratt from where the previous one ended:
 * O(n + m) for a name of n and a pattern of m characters.
 */
export function environmentMatches(pattern: string, environmentName: string): boolean {
  if (!pattern.includes("*")) return pattern === environmentName;
  const literals = pattern.split("*");
  const head = literals[0] ?? "";
  const tail = literals[literals.length - 1] ?? "";
  if (head.length + tail.length > environmentName.length) return false;
  if (!environmentName.startsWith(head) || !environmentName.endsWith(tail)) return false;
  // The middle literals must fit, in order, between the head and the tail.
  const end = environmentName.length - tail.length;
  let position = head.length;
  for (const literal of literals.slice(1, -1)) {
    if (literal === "") continue;
    const found = indexOfLiteral(environmentName, literal, position, end);
    if (found < 0) return false;
    position = found + literal.length;
  }
  return true;
}

/**
 * Where `literal` first occurs in `text` between `from` and `end` (the match must end by `end`),
 * or -1. Knuth–Morris–Pratt: O(literal + scanned text), never rescanning a character.
 */
function indexOfLiteral(text: string, literal: string, from: number, end: number): number {
  const fallback = prefixFunction(literal);
  let matched = 0;
  for (let i = from; i < end; i++) {
    const char = text.charCodeAt(i);
    while (matched > 0 && literal.charCodeAt(matched) !== char) matched = fallback[matched - 1] ?? 0;
    if (literal.charCodeAt(matched) === char) matched++;
    if (matched === literal.length) return i - literal.length + 1;
  }
  return -1;
}

/** KMP's table: for each prefix of `literal`, the length of its longest proper border. */
function prefixFunction(literal: string): number[] {
  const borders = new Array<number>(literal.length).fill(0);
  let length = 0;
  for (let i = 1; i < literal.length; i++) {
    while (length > 0 && literal.charCodeAt(i) !== literal.charCodeAt(length)) {
      length = borders[length - 1] ?? 0;
    }
    if (literal.charCodeAt(i) === literal.charCodeAt(length)) length++;
    borders[i] = length;
  }
  return borders;
}
