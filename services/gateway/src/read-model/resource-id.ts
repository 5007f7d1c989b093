/**
 * A project or group as GitLab's `:id` names it: all digits is a numeric id, anything else is a
 * full path (`group/sub/project`, sent URL-encoded as `group%2Fsub%2Fproject`; Fastify has
 * already decoded it by the time a handler sees it).
 */
export type ResourceId =
  | { readonly kind: "id"; readonly id: number }
  | { readonly kind: "path"; readonly path: string };

/** Returns null for a value that can name nothing (empty, or an id beyond 2^53). */
export function parseResourceId(raw: string): ResourceId | null {
  const value = raw.trim();
  if (value === "") return null;
  if (/^\d+$/.test(value)) {
    const id = Number(value);
    return Number.isSafeInteger(id) && id > 0 ? { kind: "id", id } : null;
  }
  // GitLab ignores a leading or trailing slash in a full path.
  const path = value.replace(/^\/+|\/+$/g, "");
  return path === "" ? null : { kind: "path", path };
}

/** A numeric-only id (`:agent_id`, `:token_id`, `:user_id`); null when not a positive safe integer. */
export function parseNumericId(raw: string): number | null {
  if (!/^\d+$/.test(raw)) return null;
  const id = Number(raw);
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}
