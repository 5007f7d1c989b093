import { createHash } from "node:crypto";
import type { ClusterFacts } from "@kasmap/contracts";

/** JSON with object keys sorted at every depth; array order is kept (lists are already sorted). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/**
 * SHA-256 (lowercase hex, 64 characters) of the canonical JSON of `facts` without
 * `observed_at`, so re-deriving an unchanged cluster yields the same hash and the collector
 * publishes a snapshot only when content changed.
 */
export function clusterFactsContentHash(facts: ClusterFacts): string {
  const { observed_at: _observedAt, ...content } = facts;
  return createHash("sha256").update(canonicalJson(content)).digest("hex");
}
