import type { ClusterFacts, FieldSource } from "@kasmap/contracts";
import { deriveCidrs } from "./derive-cidrs.ts";
import { deriveEndpoint } from "./derive-endpoint.ts";
import {
  deriveAgentNamespace,
  deriveAgentPodIp,
  deriveClusterContext,
  deriveClusterName,
  deriveClusterUid,
  deriveRegion,
  deriveVersion,
  deriveZones,
} from "./derive-identity.ts";
import { derivePlatform } from "./derive-platform.ts";
import { type DerivationDiagnostics, DiagnosticsRecorder } from "./diagnostics.ts";
import { sortedUniqueIps } from "./ip-address.ts";
import { limitClusterFacts } from "./limit-cluster-facts.ts";
import type { NodeScanMemo } from "./node-scan.ts";
import type { ClusterObservation } from "./observation.ts";
import { missingFrom, type ParsedSources, parseSources } from "./parsed-sources.ts";

export type ClusterFactsDerivation = { facts: ClusterFacts; diagnostics: DerivationDiagnostics };

function deriveNodeFacts(s: ParsedSources, d: DerivationDiagnostics) {
  if (s.nodes.state !== "ok") {
    const missing = missingFrom({ nodes: s.nodes });
    return {
      node_ips: { internal: [], external: [] },
      node_count: 0,
      sources: { "node_ips.internal": missing, "node_ips.external": missing, node_count: missing },
    };
  }
  const scan = s.nodes.value;
  const rejected = d.rejectedObjects.nodes ?? 0;
  const countSource: FieldSource = rejected
    ? {
        kind: "observed",
        source: "nodes",
        detail: `${rejected} malformed node object(s) rejected and not counted`,
      }
    : { kind: "observed", source: "nodes" };
  const ipsSource = (type: string, ips: Map<string, unknown>): FieldSource =>
    ips.size > 0
      ? { kind: "observed", source: `node.status.addresses[type=${type}]` }
      : {
          kind: "observed",
          source: `node.status.addresses[type=${type}]`,
          detail: `no node has an ${type} address`,
        };
  return {
    node_ips: {
      internal: sortedUniqueIps(scan.internalIps.values()),
      external: sortedUniqueIps(scan.externalIps.values()),
    },
    node_count: scan.nodeCount,
    sources: {
      "node_ips.internal": ipsSource("InternalIP", scan.internalIps),
      "node_ips.external": ipsSource("ExternalIP", scan.externalIps),
      node_count: countSource,
    },
  };
}

/**
 * Derives a cluster's infrastructure facts from what the collector observed, and counts what it
 * had to drop. Pure: no I/O, no clock (pass `now`), no DNS; never throws on malformed objects.
 *
 * `options.nodeScanMemo` (a collector's, over its watch cache's node objects) keeps what each
 * node object parsed to, so a derivation after one node changed parses that node alone.
 *
 * Every field of the result has an entry in `sources` (`node_ips` as `node_ips.internal` and
 * `node_ips.external`): where the value came from, or, for null/empty values, why. Lists longer
 * than the contract allows (a cluster beyond 5,000 nodes) are cut, and their source says so
 * (`limitClusterFacts`).
 */
export function deriveClusterFactsWithDiagnostics(
  input: ClusterObservation,
  now: Date,
  options: { nodeScanMemo?: NodeScanMemo } = {},
): ClusterFactsDerivation {
  const recorder = new DiagnosticsRecorder();
  const s = parseSources(input, recorder, options.nodeScanMemo);
  const platform = derivePlatform(s);
  const cidrs = deriveCidrs(s, platform.platform, recorder);
  const endpoint = deriveEndpoint(s, input, recorder);
  const nodes = deriveNodeFacts(s, recorder.result);
  const name = deriveClusterName(s, input, platform.platform);
  const uid = deriveClusterUid(s);
  const context = deriveClusterContext(input);
  const podIp = deriveAgentPodIp(input, recorder);
  const namespace = deriveAgentNamespace(input);
  const version = deriveVersion(s);
  const region = deriveRegion(s);
  const zones = deriveZones(s);
  const facts: ClusterFacts = {
    api_endpoint: endpoint.api_endpoint,
    api_endpoint_ip: endpoint.api_endpoint_ip,
    api_endpoint_ips: endpoint.api_endpoint_ips,
    cluster_name: name.value,
    cluster_uid: uid.value,
    cluster_context: context.value,
    node_ips: nodes.node_ips,
    pod_cidr: cidrs.pod_cidr,
    service_cidr: cidrs.service_cidr,
    pod_cidrs: cidrs.pod_cidrs,
    service_cidrs: cidrs.service_cidrs,
    agent_pod_ip: podIp.value,
    agent_namespace: namespace.value,
    kubernetes_version: version.value,
    platform: platform.platform,
    region: region.value,
    zones: zones.value,
    node_count: nodes.node_count,
    observed_at: now.toISOString(),
    sources: {
      ...endpoint.sources,
      cluster_name: name.source,
      cluster_uid: uid.source,
      cluster_context: context.source,
      ...nodes.sources,
      ...cidrs.sources,
      agent_pod_ip: podIp.source,
      agent_namespace: namespace.source,
      kubernetes_version: version.source,
      platform: platform.source,
      region: region.source,
      zones: zones.source,
      observed_at: { kind: "observed", source: "collector clock" },
    },
  };
  return { facts: limitClusterFacts(facts), diagnostics: recorder.result };
}

/** {@link deriveClusterFactsWithDiagnostics} without the diagnostics. */
export function deriveClusterFacts(input: ClusterObservation, now: Date): ClusterFacts {
  return deriveClusterFactsWithDiagnostics(input, now).facts;
}
