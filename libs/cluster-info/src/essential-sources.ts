import { type ClusterSourceKey, sourceLabel } from "./cluster-sources.ts";
import type { ClusterObservation } from "./observation.ts";

/**
 * Sources without which a snapshot is not the cluster's truth: every node fact and the
 * platform rest on them. A `forbidden` or `not-found` answer is still an answer (the snapshot
 * says so per field); `unreachable` and `error` mean the API server was never heard.
 */
export const ESSENTIAL_SOURCE_KEYS = ["nodes", "version"] as const satisfies readonly ClusterSourceKey[];

/**
 * `nodes: unreachable (connect ECONNREFUSED 127.0.0.1:6443)` for each essential source that
 * never answered; empty when the snapshot may be published.
 */
export function unansweredEssentialSources(observation: ClusterObservation): string[] {
  const out: string[] = [];
  for (const key of ESSENTIAL_SOURCE_KEYS) {
    const access = observation[key];
    if (access.state === "unreachable" || access.state === "error") {
      out.push(`${sourceLabel(key)}: ${access.state} (${access.message})`);
    }
  }
  return out;
}
