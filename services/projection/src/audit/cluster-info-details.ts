import {
  AUDIT_LIST_ENTRIES_KEPT,
  AUDIT_STRING_CHARS_KEPT,
  AUDITED_CLUSTER_FIELDS,
  AUDITED_CLUSTER_LISTS,
  type AuditedClusterField,
  type AuditedClusterList,
  type AuditedClusterValues,
  type ClusterInfoChangedDetails,
  type CutList,
  type CutString,
} from "@kasmap/contracts";

/** Each audited list, by the path `cut_lists` names it with. */
const AUDITED_LISTS: Record<AuditedClusterList, (values: AuditedClusterValues) => readonly string[]> = {
  "node_ips.external": (values) => values.node_ips.external,
  "node_ips.internal": (values) => values.node_ips.internal,
  pod_cidrs: (values) => values.pod_cidrs,
  service_cidrs: (values) => values.service_cidrs,
};

/**
 * The details of `cluster_agent_cluster_info_changed`, of a bounded size whatever the cluster
 * (`ClusterInfoChangedDetailsSchema`): a list longer than `AUDIT_LIST_ENTRIES_KEPT` on either
 * side keeps its first entries on both and is described in `cut_lists` (counts, and the entries
 * added and removed, each cut the same way); a string longer than `AUDIT_STRING_CHARS_KEPT` is
 * cut and named in `cut_strings`. When nothing is cut, the values are as given, byte for byte.
 * Pure and deterministic (lists keep their order), so a rebuild writes the same rows.
 */
export function boundedClusterInfoDetails(
  changedFields: AuditedClusterField[],
  before: AuditedClusterValues | null,
  after: AuditedClusterValues,
  contentHash: string,
): ClusterInfoChangedDetails {
  const cutLists: Partial<Record<AuditedClusterList, CutList>> = {};
  for (const path of AUDITED_CLUSTER_LISTS) {
    const list = AUDITED_LISTS[path];
    const beforeList = before === null ? null : list(before);
    const afterList = list(after);
    const longest = Math.max(beforeList?.length ?? 0, afterList.length);
    if (longest > AUDIT_LIST_ENTRIES_KEPT) cutLists[path] = listChange(beforeList, afterList);
  }
  const cutStrings: Partial<Record<AuditedClusterField, CutString>> = {};
  for (const field of AUDITED_CLUSTER_FIELDS) {
    const beforeLength = stringLength(before?.[field]);
    const afterLength = stringLength(after[field]);
    if (Math.max(beforeLength ?? 0, afterLength ?? 0) > AUDIT_STRING_CHARS_KEPT)
      cutStrings[field] = { before_length: beforeLength, after_length: afterLength };
  }
  const cut = { lists: new Set(Object.keys(cutLists)), strings: new Set(Object.keys(cutStrings)) };
  if (cut.lists.size === 0 && cut.strings.size === 0)
    return { changed_fields: changedFields, before, after, content_hash: contentHash };
  return {
    changed_fields: changedFields,
    before: before === null ? null : cutValues(before, cut),
    after: cutValues(after, cut),
    ...(cut.lists.size > 0 ? { cut_lists: cutLists } : {}),
    ...(cut.strings.size > 0 ? { cut_strings: cutStrings } : {}),
    content_hash: contentHash,
  };
}

/** What changed in one list, exactly, with the entries named cut to `AUDIT_LIST_ENTRIES_KEPT`. */
function listChange(before: readonly string[] | null, after: readonly string[]): CutList {
  const inBefore = new Set(before);
  const inAfter = new Set(after);
  const added = after.filter((entry) => !inBefore.has(entry));
  const removed = (before ?? []).filter((entry) => !inAfter.has(entry));
  return {
    before_count: before === null ? null : before.length,
    after_count: after.length,
    added_count: added.length,
    added: added.slice(0, AUDIT_LIST_ENTRIES_KEPT),
    removed_count: removed.length,
    removed: removed.slice(0, AUDIT_LIST_ENTRIES_KEPT),
  };
}

function stringLength(value: unknown): number | null {
  return typeof value === "string" ? value.length : null;
}

/**
 * `values` with the named lists and strings cut. Fields keep their place (the key order of
 * the stored JSON), so only what is cut differs from the values in full.
 */
function cutValues(
  values: AuditedClusterValues,
  cut: { lists: ReadonlySet<string>; strings: ReadonlySet<string> },
): AuditedClusterValues {
  const list = (path: AuditedClusterList, entries: string[]) =>
    cut.lists.has(path) ? entries.slice(0, AUDIT_LIST_ENTRIES_KEPT) : entries;
  const result: AuditedClusterValues = {
    ...values,
    node_ips: {
      ...values.node_ips,
      external: list("node_ips.external", values.node_ips.external),
      internal: list("node_ips.internal", values.node_ips.internal),
    },
    pod_cidrs: list("pod_cidrs", values.pod_cidrs),
    service_cidrs: list("service_cidrs", values.service_cidrs),
  };
  const strings: Record<string, unknown> = result;
  for (const field of cut.strings) {
    const value = strings[field];
    if (typeof value === "string") strings[field] = cutString(value);
  }
  return result;
}

/** The first `AUDIT_STRING_CHARS_KEPT` UTF-16 units, one less rather than half a surrogate pair. */
function cutString(value: string): string {
  if (value.length <= AUDIT_STRING_CHARS_KEPT) return value;
  const last = value.charCodeAt(AUDIT_STRING_CHARS_KEPT - 1);
  const end = last >= 0xd800 && last <= 0xdbff ? AUDIT_STRING_CHARS_KEPT - 1 : AUDIT_STRING_CHARS_KEPT;
  return value.slice(0, end);
}
