/** GitLab's slug length limit for environments. */
const SLUG_MAX = 24;

/**
 * A DNS-label-safe slug of an environment name, close to GitLab's `Gitlab::Slug::Environment`:
 * lower-cased, every run of other characters becomes one `-`, no leading digit-less dash, at
 * most 24 characters, no trailing dash. (GitLab appends a random suffix when it had to shorten
 * or change the name; Kasmap keeps slugs deterministic so a job's fixtures are reproducible.)
 */
export function environmentSlug(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+/, "")
    .slice(0, SLUG_MAX)
    .replace(/-+$/, "");
  return slug === ""
    ? "env"
    : /^[a-z]/.test(slug)
      ? slug
      : `env-${slug}`.slice(0, SLUG_MAX).replace(/-+$/, "");
}
