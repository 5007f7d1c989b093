import type { DiagnosticsRecorder } from "./diagnostics.ts";
import { type ParsedCidr, type ParsedIp, parseCidr, parseIp } from "./ip-address.ts";
import { type KubeNode, NodeSchema, parseObject } from "./kubernetes-objects.ts";

/** Node address types defined by core/v1 NodeAddressType. */
const KNOWN_ADDRESS_TYPES = new Set(["InternalIP", "ExternalIP", "Hostname", "InternalDNS", "ExternalDNS"]);

/** Labels that name a platform, a cluster or a location (see derive-platform / derive-identity). */
export const NODE_LABELS = {
  zone: "topology.kubernetes.io/zone",
  region: "topology.kubernetes.io/region",
  legacyZone: "failure-domain.beta.kubernetes.io/zone",
  legacyRegion: "failure-domain.beta.kubernetes.io/region",
  eksNodegroup: "eks.amazonaws.com/nodegroup",
  eksctlClusterName: "alpha.eksctl.io/cluster-name",
  gkeNodepool: "cloud.google.com/gke-nodepool",
  aksCluster: "kubernetes.azure.com/cluster",
  instanceType: "node.kubernetes.io/instance-type",
  minikubeName: "minikube.k8s.io/name",
} as const;
export type NodeLabelKey = keyof typeof NODE_LABELS;

/**
 * Everything the derivation needs from the node list, gathered in ONE pass (5,000 nodes with
 * hundreds of addresses each must stay linear). Sets de-duplicate as we go; sorting happens once
 * on the de-duplicated values.
 */
export type NodeScan = {
  nodeCount: number;
  internalIps: Map<string, ParsedIp>;
  externalIps: Map<string, ParsedIp>;
  /** Per-node ranges from spec.podCIDRs (or the single spec.podCIDR of older nodes). */
  podCidrs: ParsedCidr[];
  nodesWithPodCidr: number;
  /** Distinct values seen per label of interest. */
  labelValues: Record<NodeLabelKey, Set<string>>;
  /** Distinct spec.providerID schemes ("aws", "gce", "azure", "kind", …) with one example each. */
  providerIdExamples: Map<string, string>;
  /** Cluster names in kind providerIDs, `kind://<provider>/<cluster>/<node>`. */
  kindClusterNames: Set<string>;
};

function emptyScan(): NodeScan {
  const labelValues = {} as Record<NodeLabelKey, Set<string>>;
  for (const key of Object.keys(NODE_LABELS) as NodeLabelKey[]) labelValues[key] = new Set();
  return {
    nodeCount: 0,
    internalIps: new Map(),
    externalIps: new Map(),
    podCidrs: [],
    nodesWithPodCidr: 0,
    labelValues,
    providerIdExamples: new Map(),
    kindClusterNames: new Set(),
  };
}

function scanAddresses(node: KubeNode, scan: NodeScan, diagnostics: DiagnosticsRecorder): void {
  const where = `node ${node.metadata.name} status.addresses`;
  for (const entry of node.status?.addresses ?? []) {
    if (entry === null) {
      diagnostics.rejectObject("node.status.addresses", `malformed entry in node ${node.metadata.name}`);
      continue;
    }
    const target =
      entry.type === "InternalIP" ? scan.internalIps : entry.type === "ExternalIP" ? scan.externalIps : null;
    if (target === null) {
      if (!KNOWN_ADDRESS_TYPES.has(entry.type)) diagnostics.unknownAddressType(where, entry.type);
      continue;
    }
    const ip = parseIp(entry.address);
    if (ip === null) diagnostics.invalidIp(where, entry.address);
    else target.set(ip.text, ip);
  }
}

function scanPodCidrs(node: KubeNode, scan: NodeScan, diagnostics: DiagnosticsRecorder): void {
  // podCIDRs (1.16+) holds one range per family; podCIDR is its first element, kept for old nodes.
  const ranges = node.spec?.podCIDRs ?? (node.spec?.podCIDR ? [node.spec.podCIDR] : []);
  let any = false;
  for (const text of ranges) {
    const cidr = parseCidr(text);
    if (cidr === null) diagnostics.invalidCidr(`node ${node.metadata.name} spec.podCIDRs`, text);
    else {
      scan.podCidrs.push(cidr);
      any = true;
    }
  }
  if (any) scan.nodesWithPodCidr++;
}

function scanLabelsAndProvider(node: KubeNode, scan: NodeScan): void {
  const labels = node.metadata.labels;
  if (labels) {
    for (const key of Object.keys(NODE_LABELS) as NodeLabelKey[]) {
      const value = labels[NODE_LABELS[key]];
      if (value !== undefined && value !== "") scan.labelValues[key].add(value);
    }
  }
  const providerId = node.spec?.providerID;
  if (providerId) {
    const scheme = providerId.split("://", 1)[0] ?? "";
    if (!scan.providerIdExamples.has(scheme)) scan.providerIdExamples.set(scheme, providerId);
    const kind = /^kind:\/\/[^/]+\/([^/]+)\/[^/]+$/.exec(providerId);
    if (kind?.[1]) scan.kindClusterNames.add(kind[1]);
  }
}

/** Validates and scans every node once. Malformed nodes are rejected, counted and skipped. */
export function scanNodes(nodes: readonly unknown[], diagnostics: DiagnosticsRecorder): NodeScan {
  const scan = emptyScan();
  for (const raw of nodes) {
    const node = parseObject(NodeSchema, raw, "nodes", diagnostics);
    if (node === null) continue;
    scan.nodeCount++;
    scanAddresses(node, scan, diagnostics);
    scanPodCidrs(node, scan, diagnostics);
    scanLabelsAndProvider(node, scan);
  }
  return scan;
}
