import { type DerivationDiagnostics, DiagnosticsRecorder } from "./diagnostics.ts";
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
 * Node annotations in which k3s and RKE2 record the server's command line, a JSON array such as
 * `["server","--cluster-cidr","10.42.0.0/16","--service-cidr","10.43.0.0/16"]` (secrets masked).
 */
export const SERVER_ARGS_ANNOTATIONS = ["k3s.io/node-args", "rke2.io/node-args"] as const;

/** The range flags read from those annotations, by flag, with the annotation they came from. */
export type ServerArgRanges = { annotation: string; values: string[] };

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
  /** `--cluster-cidr` / `--service-cidr` of the first server node whose args carry them. */
  serverArgs: { clusterCidr: ServerArgRanges | null; serviceCidr: ServerArgRanges | null };
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
    serverArgs: { clusterCidr: null, serviceCidr: null },
  };
}

/**
 * What one node contributes to a scan that does not depend on the other nodes: the node as its
 * schema accepts it (null: rejected), its parsed addresses and pod ranges, and what it had to
 * drop (null: nothing). Parsing is most of a scan's cost (5,000 nodes: ~100 ms).
 */
type NodeFindings = {
  node: KubeNode | null;
  internalIps: ParsedIp[];
  externalIps: ParsedIp[];
  podCidrs: ParsedCidr[];
  problems: DerivationDiagnostics | null;
};

function nodeFindings(raw: unknown): NodeFindings {
  const recorder = new DiagnosticsRecorder();
  const node = parseObject(NodeSchema, raw, "nodes", recorder);
  const findings: NodeFindings = { node, internalIps: [], externalIps: [], podCidrs: [], problems: null };
  if (node !== null) {
    scanAddresses(node, findings, recorder);
    scanPodCidrs(node, findings, recorder);
  }
  const { result } = recorder;
  const clean =
    result.invalidIps + result.invalidCidrs + result.unknownAddressTypes === 0 &&
    Object.keys(result.rejectedObjects).length === 0;
  findings.problems = clean ? null : result;
  return findings;
}

function scanAddresses(node: KubeNode, findings: NodeFindings, diagnostics: DiagnosticsRecorder): void {
  const where = `node ${node.metadata.name} status.addresses`;
  for (const entry of node.status?.addresses ?? []) {
    if (entry === null) {
      diagnostics.rejectObject("node.status.addresses", `malformed entry in node ${node.metadata.name}`);
      continue;
    }
    const target =
      entry.type === "InternalIP"
        ? findings.internalIps
        : entry.type === "ExternalIP"
          ? findings.externalIps
          : null;
    if (target === null) {
      if (!KNOWN_ADDRESS_TYPES.has(entry.type)) diagnostics.unknownAddressType(where, entry.type);
      continue;
    }
    const ip = parseIp(entry.address);
    if (ip === null) diagnostics.invalidIp(where, entry.address);
    else target.push(ip);
  }
}

function scanPodCidrs(node: KubeNode, findings: NodeFindings, diagnostics: DiagnosticsRecorder): void {
  // podCIDRs (1.16+) holds one range per family; podCIDR is its first element, kept for old nodes.
  const ranges = node.spec?.podCIDRs ?? (node.spec?.podCIDR ? [node.spec.podCIDR] : []);
  for (const text of ranges) {
    const cidr = parseCidr(text);
    if (cidr === null) diagnostics.invalidCidr(`node ${node.metadata.name} spec.podCIDRs`, text);
    else findings.podCidrs.push(cidr);
  }
}

/**
 * Each node's findings, kept per node object for as long as the object lives: a collector's
 * watch cache replaces a node's object when the node changes and never mutates one, so a
 * snapshot after one node changed parses that node alone. Only for objects nobody mutates.
 */
export class NodeScanMemo {
  private readonly byNode = new WeakMap<object, NodeFindings>();

  findingsOf(raw: unknown): NodeFindings {
    if (typeof raw !== "object" || raw === null) return nodeFindings(raw);
    let findings = this.byNode.get(raw);
    if (findings === undefined) {
      findings = nodeFindings(raw);
      this.byNode.set(raw, findings);
    }
    return findings;
  }
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

/** The value of `--flag value` or `--flag=value` in an argument list; null when absent. */
function flagValue(args: readonly unknown[], flag: string): string | null {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === flag && typeof args[i + 1] === "string") return args[i + 1] as string;
    if (typeof arg === "string" && arg.startsWith(`${flag}=`)) return arg.slice(flag.length + 1);
  }
  return null;
}

function scanServerArgs(node: KubeNode, scan: NodeScan): void {
  const annotations = node.metadata.annotations;
  if (!annotations || (scan.serverArgs.clusterCidr && scan.serverArgs.serviceCidr)) return;
  for (const annotation of SERVER_ARGS_ANNOTATIONS) {
    const text = annotations[annotation];
    if (!text) continue;
    let args: unknown;
    try {
      args = JSON.parse(text);
    } catch {
      continue;
    }
    if (!Array.isArray(args)) continue;
    const found = (flag: string): ServerArgRanges | null => {
      const value = flagValue(args as unknown[], flag);
      return value ? { annotation, values: [value] } : null;
    };
    scan.serverArgs.clusterCidr ??= found("--cluster-cidr");
    scan.serverArgs.serviceCidr ??= found("--service-cidr");
  }
}

/**
 * Validates and scans every node once (with `memo`, every node object it has not seen).
 * Malformed nodes are rejected, counted and skipped.
 */
export function scanNodes(
  nodes: readonly unknown[],
  diagnostics: DiagnosticsRecorder,
  memo?: NodeScanMemo,
): NodeScan {
  const scan = emptyScan();
  for (const raw of nodes) {
    const findings = memo ? memo.findingsOf(raw) : nodeFindings(raw);
    if (findings.problems !== null) diagnostics.absorb(findings.problems);
    const node = findings.node;
    if (node === null) continue;
    scan.nodeCount++;
    for (const ip of findings.internalIps) scan.internalIps.set(ip.text, ip);
    for (const ip of findings.externalIps) scan.externalIps.set(ip.text, ip);
    if (findings.podCidrs.length > 0) {
      for (const cidr of findings.podCidrs) scan.podCidrs.push(cidr);
      scan.nodesWithPodCidr++;
    }
    scanLabelsAndProvider(node, scan);
    scanServerArgs(node, scan);
  }
  return scan;
}
