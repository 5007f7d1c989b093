/**
 * The agent page's timeline: snapshots (`…/cluster_info/history`) and audit events
 * (`…/audit_events?agent_id=`) in one list, newest first, with changes of the cluster's identity,
 * API endpoint or address ranges marked for highlighting. Pure: shared by the page and its tests.
 */

/** Which fields each highlight covers. */
export const HIGHLIGHT_FIELDS = {
  identity: ["cluster_uid", "cluster_name", "cluster_context", "platform", "region"],
  endpoint: ["api_endpoint", "api_endpoint_ip", "api_endpoint_ips"],
  ranges: ["node_ips", "pod_cidrs", "service_cidrs", "pod_cidr", "service_cidr"],
};

/** Audit events that are, by themselves, a change of identity. */
const IDENTITY_EVENTS = new Set(["cluster_agent_cluster_changed", "cluster_agent_cluster_conflict"]);

/**
 * The highlights that a list of changed field names earns, in a fixed order.
 * @param {readonly string[]} fields
 * @returns {Array<"identity" | "endpoint" | "ranges">}
 */
export function highlightsOf(fields) {
  /** @type {Array<"identity" | "endpoint" | "ranges">} */
  const kinds = ["identity", "endpoint", "ranges"];
  return kinds.filter((kind) => HIGHLIGHT_FIELDS[kind].some((field) => fields.includes(field)));
}

/**
 * The fields whose values differ between two snapshots' facts (compared as JSON); all watched
 * fields for the first snapshot (`older` null).
 * @param {Record<string, unknown> | null} older
 * @param {Record<string, unknown>} newer
 */
export function changedFields(older, newer) {
  const watched = Object.values(HIGHLIGHT_FIELDS).flat();
  if (older === null) return watched.filter((field) => newer[field] !== undefined && newer[field] !== null);
  return watched.filter(
    (field) => JSON.stringify(older[field] ?? null) !== JSON.stringify(newer[field] ?? null),
  );
}

/**
 * @typedef {{ observed_at: string, content_hash: string, cluster_info: Record<string, unknown> }} HistoryEntry
 * @typedef {{ id: number, event_name: string, created_at: string, details: Record<string, unknown> }} AuditEntry
 * @typedef {{ key: string, at: string, source: "snapshot" | "audit", title: string, fields: string[], highlights: Array<"identity" | "endpoint" | "ranges"> }} TimelineEntry
 */

/**
 * One list, newest first (ties: audit events before snapshots, as the event follows its snapshot).
 * `history` is newest first, as the API pages it.
 * @param {readonly HistoryEntry[]} history
 * @param {readonly AuditEntry[]} audits
 * @returns {TimelineEntry[]}
 */
export function buildTimeline(history, audits) {
  /** @type {TimelineEntry[]} */
  const entries = history.map((entry, index) => {
    const older = history[index + 1]?.cluster_info ?? null;
    // The first snapshot changes nothing: it is where the story starts, not a highlight.
    const fields = older === null ? [] : changedFields(older, entry.cluster_info);
    return {
      key: `snapshot-${entry.content_hash}-${entry.observed_at}`,
      at: entry.observed_at,
      source: "snapshot",
      title:
        older === null
          ? "First snapshot of the cluster"
          : fields.length
            ? "Cluster changed"
            : "Snapshot (no watched change)",
      fields,
      highlights: highlightsOf(fields),
    };
  });
  for (const audit of audits) {
    const listed = Array.isArray(audit.details.changed_fields)
      ? audit.details.changed_fields.map(String)
      : [];
    const highlights = highlightsOf(listed);
    if (IDENTITY_EVENTS.has(audit.event_name) && !highlights.includes("identity"))
      highlights.unshift("identity");
    entries.push({
      key: `audit-${audit.id}`,
      at: audit.created_at,
      source: "audit",
      title:
        typeof audit.details.custom_message === "string" && audit.details.custom_message
          ? audit.details.custom_message
          : audit.event_name,
      fields: listed,
      highlights,
    });
  }
  return entries.sort((a, b) => {
    const byTime = Date.parse(b.at) - Date.parse(a.at);
    if (byTime !== 0) return byTime;
    return a.source === b.source ? 0 : a.source === "audit" ? -1 : 1;
  });
}
