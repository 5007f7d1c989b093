export type Highlight = "identity" | "endpoint" | "ranges";
export const HIGHLIGHT_FIELDS: Record<Highlight, readonly string[]>;
export function highlightsOf(fields: readonly string[]): Highlight[];
export function changedFields(
  older: Record<string, unknown> | null,
  newer: Record<string, unknown>,
): string[];
export type HistoryEntry = {
  observed_at: string;
  content_hash: string;
  cluster_info: Record<string, unknown>;
};
export type AuditEntry = {
  id: number;
  event_name: string;
  created_at: string;
  details: Record<string, unknown>;
};
export type TimelineEntry = {
  key: string;
  at: string;
  source: "snapshot" | "audit";
  title: string;
  fields: string[];
  highlights: Highlight[];
};
export function buildTimeline(
  history: readonly HistoryEntry[],
  audits: readonly AuditEntry[],
): TimelineEntry[];
