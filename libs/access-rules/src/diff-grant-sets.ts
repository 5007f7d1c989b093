import { type AgentGrantSet, canonicalJson, type GrantRef } from "@kasmap/contracts";

/**
 * `added`/`removed`: targets that gained or lost a grant. `changed`: targets granted before and
 * after whose stored config differs (say `environments` narrowed). A config change is NOT
 * reported as removed + added: a reader of the audit log would take that for a revocation. The
 * `authz.changed` event has no `changed` list, but it carries the whole new grant set, so nothing
 * is lost; services that want to name config changes can use this list.
 *
 * Each list is ordered by access, target type, then id, so equal inputs give equal output.
 */
export interface GrantSetDiff {
  added: GrantRef[];
  removed: GrantRef[];
  changed: GrantRef[];
}

export function diffGrantSets(before: AgentGrantSet, after: AgentGrantSet): GrantSetDiff {
  const old = indexGrants(before);
  const now = indexGrants(after);
  const diff: GrantSetDiff = { added: [], removed: [], changed: [] };
  for (const [key, grant] of now) {
    const previous = old.get(key);
    if (previous === undefined) diff.added.push(grant.ref);
    else if (previous.config !== grant.config) diff.changed.push(grant.ref);
  }
  for (const [key, grant] of old) if (!now.has(key)) diff.removed.push(grant.ref);
  diff.added.sort(compareRefs);
  diff.removed.sort(compareRefs);
  diff.changed.sort(compareRefs);
  return diff;
}

/** Ref key → ref and its config as canonical JSON (key order must not count as a change). */
function indexGrants(set: AgentGrantSet): Map<string, { ref: GrantRef; config: string }> {
  const index = new Map<string, { ref: GrantRef; config: string }>();
  const add = (ref: GrantRef, config: unknown) =>
    index.set(`${ref.access}:${ref.target_type}:${ref.target_id}`, { ref, config: canonicalJson(config) });
  for (const access of ["ci_access", "user_access"] as const) {
    for (const row of set[access].projects) {
      add({ access, target_type: "project", target_id: row.project_id }, row.config);
    }
    for (const row of set[access].groups) {
      add({ access, target_type: "group", target_id: row.group_id }, row.config);
    }
  }
  return index;
}

function compareRefs(a: GrantRef, b: GrantRef): number {
  return (
    a.access.localeCompare(b.access) ||
    a.target_type.localeCompare(b.target_type) ||
    a.target_id - b.target_id
  );
}
