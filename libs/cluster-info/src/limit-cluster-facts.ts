import {
  CLUSTER_FACTS_LIMITS,
  CLUSTER_FACTS_TEXT_FIELDS,
  CLUSTER_FACTS_TEXT_LIMITS,
  type ClusterFacts,
  type FieldSource,
} from "@kasmap/contracts";

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

/** Marks where `cutText` cut a text. */
const CUT_MARK = "…";

/** `text` cut to `max` UTF-16 units with `CUT_MARK` at its end, never inside a surrogate pair. */
function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - CUT_MARK.length;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}${CUT_MARK}`;
}

/** `sources` with every `source` and `detail` cut to the contract's length; itself when none is over. */
function limitSources(sources: ClusterFacts["sources"]): ClusterFacts["sources"] {
  const { sourceName, sourceDetail } = CLUSTER_FACTS_TEXT_LIMITS;
  const over = (source: FieldSource) =>
    (source.detail?.length ?? 0) > sourceDetail || ("source" in source && source.source.length > sourceName);
  if (!Object.values(sources).some(over)) return sources;
  const cut: ClusterFacts["sources"] = {};
  for (const [key, source] of Object.entries(sources)) {
    if (!over(source)) {
      cut[key] = source;
      continue;
    }
    const withDetail =
      source.detail === undefined ? source : { ...source, detail: cutText(source.detail, sourceDetail) };
    cut[key] =
      "source" in withDetail ? { ...withDetail, source: cutText(withDetail.source, sourceName) } : withDetail;
  }
  return cut;
}

/** Why a text fact is null: its value was longer than the contract allows. */
function tooLongSource(length: number, max: number): FieldSource {
  return {
    kind: "missing",
    reason: "invalid",
    detail:
      `the cluster gave ${length} characters: the cluster facts contract allows at most ${max} ` +
      "(CLUSTER_FACTS_TEXT_LIMITS)",
  };
}

/** `facts` with each over-long text fact null, the reason in `sources`. */
function limitTexts(facts: ClusterFacts): ClusterFacts {
  let limited = facts;
  for (const key of CLUSTER_FACTS_TEXT_FIELDS) {
    const value = limited[key];
    const max = CLUSTER_FACTS_TEXT_LIMITS[key];
    if (typeof value !== "string" || value.length <= max) continue;
    limited = {
      ...limited,
      [key]: null,
      sources: { ...limited.sources, [key]: tooLongSource(value.length, max) },
    };
  }
  const version = limited.kubernetes_version;
  const versionMax = CLUSTER_FACTS_TEXT_LIMITS.kubernetesVersionField;
  const longest = version ? Math.max(...Object.values(version).map((field) => field.length)) : 0;
  if (longest > versionMax) {
    limited = {
      ...limited,
      kubernetes_version: null,
      sources: { ...limited.sources, kubernetes_version: tooLongSource(longest, versionMax) },
    };
  }
  return limited;
}

/**
 * Cuts each list of `facts` to the length `ClusterFactsSchema` accepts, so the collector never
 * publishes facts its own contract refuses. Only a cluster larger than Kubernetes supports (more
 * than 5,000 nodes) reaches a limit; the list then keeps its first entries (lists are sorted, so
 * the cut is stable between snapshots) and its `sources` entry says how many were dropped. A text
 * fact longer than `CLUSTER_FACTS_TEXT_LIMITS` allows becomes null with the reason in `sources`
 * (a cut name or address would be a wrong one), and a `sources` text longer than allowed is cut
 * (`…`). Pure; returns `facts` itself when nothing is over.
 */
export function limitClusterFacts(facts: ClusterFacts): ClusterFacts {
  let limited = limitTexts(facts);
  for (const { key, max } of LIMITED_LISTS) {
    const list = listOf(limited, key);
    if (list.length <= max) continue;
    limited = withList(limited, key, list.slice(0, max));
    limited = {
      ...limited,
      sources: { ...limited.sources, [key]: cutSource(limited.sources[key], key, max, list.length) },
    };
  }
  // Last: a list's cut adds its note to a source's detail.
  const sources = limitSources(limited.sources);
  return sources === limited.sources ? limited : { ...limited, sources };
}
