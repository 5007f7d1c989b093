import { createHash } from "node:crypto";
import { type ClusterFacts, canonicalJson } from "@kasmap/contracts";

/**
 * SHA-256 (lowercase hex, 64 characters) of the canonical JSON of `facts` without
 * `observed_at`, so re-deriving an unchanged cluster yields the same hash and the collector
 * publishes a snapshot only when content changed.
 */
export function clusterFactsContentHash(facts: ClusterFacts): string {
  const { observed_at: _observedAt, ...content } = facts;
  return createHash("sha256").update(canonicalJson(content)).digest("hex");
}
