import { CLUSTER_FACTS_LIMITS, type ClusterFacts, type FieldSource } from "@kasmap/contracts";

/** The capped lists, by their key in `sources`, with the limit the contract sets on each. */
const LIMITED_LISTS = [
  { key: "node_ips.internal", max: CLUSTER_FACTS_LIMITS.nodeIpsPerType },
  { key: "node_ips.external", max: CLUSTER_FACTS_LIMITS.nodeIpsPerType },
  { key: "pod_cidrs", max: CLUSTER_FACTS_LIMITS.podCidrs },
  { key: "service_cidrs", max: CLUSTER_FACTS_LIMITS.serviceCidrs },
  { key: "api_endpoint_ips", max: CLUSTER_FACTS_LIMITS.apiEndpointIps },
  { key: "zones", max: CLUSTER_FACTS_LIMITS.zones },
] as const;

type LimitedKey = (typeof LIMITED_LISTS)[number]["key"];

function listOf(facts: ClusterFacts, key: LimitedKey): readonly string[] {
  switch (key) {
    case "node_ips.internal":
      return facts.node_ips.internal;
    case "node_ips.external":
      return facts.node_ips.external;
    case "pod_cidrs":
    case "service_cidrs":
    case "zones":
      return facts[key];
    case "api_endpoint_ips":
      return facts.api_endpoint_ips ?? [];
  }
}

function withList(facts: ClusterFacts, key: LimitedKey, list: string[]): ClusterFacts {
  switch (key) {
    case "node_ips.internal":
      return { ...facts, node_ips: { ...facts.node_ips, internal: list } };
    case "node_ips.external":
      return { ...facts, node_ips: { ...facts.node_ips, external: list } };
    case "pod_cidrs":
    case "service_cidrs":
    case "zones":
    case "api_endpoint_ips":
      return { ...facts, [key]: list };
  }
}

/** The source of a list cut to `max` of its `total` entries: same standing, the cut in `detail`. */
function cutSource(source: FieldSource | undefined, key: string, max: number, total: number): FieldSource {
  const note =
    `first ${max} of ${total} entries kept, in the list's order: the cluster facts contract ` +
    `allows at most ${max} (CLUSTER_FACTS_LIMITS, derived from the limits Kubernetes documents)`;
  if (source === undefined || source.kind === "missing") {
    return { kind: "observed", source: key, detail: note };
  }
  return { ...source, detail: source.detail ? `${source.detail}; ${note}` : note };
}

/**
 * Cuts each list of `facts` to the length `ClusterFactsSchema` accepts, so the collector never
 * publishes facts its own contract refuses. Only a cluster larger than Kubernetes supports (more
 * than 5,000 nodes) reaches a limit; the list then keeps its first entries (lists are sorted, so
 * the cut is stable between snapshots) and its `sources` entry says how many were dropped. Pure;
 * returns `facts` itself when nothing is over.
 */
export function limitClusterFacts(facts: ClusterFacts): ClusterFacts {
  let limited = facts;
  for (const { key, max } of LIMITED_LISTS) {
    const list = listOf(limited, key);
    if (list.length <= max) continue;
    limited = withList(limited, key, list.slice(0, max));
    limited = {
      ...limited,
      sources: { ...limited.sources, [key]: cutSource(limited.sources[key], key, max, list.length) },
    };
  }
  return limited;
}
