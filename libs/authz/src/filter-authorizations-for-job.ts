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
 * Kasmap anchors the pattern at both ends and escapes every other regex metacharacter: an
 * `environments` list is an allow-list, and a partial match would grant more than it reads.
 */
export function environmentMatches(pattern: string, environmentName: string): boolean {
  if (!pattern.includes("*")) return pattern === environmentName;
  const source = pattern
    .split("*")
    .map((literal) => literal.replace(/[\\^$.|?+()[\]{}]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${source}$`, "s").test(environmentName);
}
