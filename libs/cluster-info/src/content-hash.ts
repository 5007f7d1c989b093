import { createHash } from "node:crypto";
import { type ClusterFacts, canonicalJson } from "@kasmap/contracts";

/**
 * SHA-256 (lowercase hex, 64 characters) of the canonical JSON of `facts` without
 * `observed_at`, so re-deriving an unchanged cluster yields the same hash and the collector
 * publishes a snapshot only when content changed.
 *
 * `agent_pod_ip` (and its source) is left out too: it is the publishing replica's own address,
 * not a fact of the cluster. Two replicas of one agent (issue 11) then hash one cluster equally
 * and write one history; the API's `agent_pod_ip` comes from the newest heartbeat.
 */
export function clusterFactsContentHash(facts: ClusterFacts): string {
  const { observed_at: _observedAt, agent_pod_ip: _podIp, sources, ...content } = facts;
  const { agent_pod_ip: _podIpSource, ...contentSources } = sources;
  return createHash("sha256")
    .update(canonicalJson({ ...content, sources: contentSources }))
    .digest("hex");
}
