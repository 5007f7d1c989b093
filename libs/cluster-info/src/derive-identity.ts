import type { FieldSource, KubernetesVersion, Platform } from "@kasmap/contracts";
import type { DiagnosticsRecorder } from "./diagnostics.ts";
import { parseIp } from "./ip-address.ts";
import { NODE_LABELS, type NodeScan } from "./node-scan.ts";
import type { ClusterObservation } from "./observation.ts";
import { missingFrom, type ParsedSources } from "./parsed-sources.ts";

type Fact<T> = { value: T; source: FieldSource };

/** `observed` entry with an optional qualifying detail. */
function observed(source: string, detail?: string): FieldSource {
  return detail ? { kind: "observed", source, detail } : { kind: "observed", source };
}

/** The one value all nodes agree on, `observed` from `where`; null when no node has one. */
function singleValue(values: Set<string> | undefined, where: string): Fact<string | null> | null {
  if (!values || values.size === 0) return null;
  const sorted = [...values].sort();
  if (sorted.length === 1) return { value: sorted[0] ?? null, source: observed(where) };
  // One cluster has one name/region; disagreeing nodes mean we cannot tell which is true.
  return {
    value: null,
    source: {
      kind: "missing",
      reason: "invalid",
      detail: `nodes disagree on ${where}: ${sorted.join(", ")}`,
    },
  };
}

function singleLabel(
  scan: NodeScan | null,
  values: Set<string> | undefined,
  label: string,
): Fact<string | null> | null {
  if (!scan) return null;
  return singleValue(values, `node label ${label}`);
}

function clusterNameFallback(s: ParsedSources, platform: Platform, scan: NodeScan | null): FieldSource {
  const aksGroup = [...(scan?.labelValues.aksCluster ?? [])].sort()[0];
  const notExposed: Partial<Record<Platform, string>> = {
    aks:
      `AKS nodes carry no cluster name; node label kubernetes.azure.com/cluster is the node resource group` +
      `${aksGroup ? ` (${aksGroup})` : ""}, MC_<resource group>_<cluster>_<region>, which cannot be split ` +
      "when the resource group or cluster name contains underscores (or a custom node resource group " +
      "is used); set --cluster-name",
    gke: "GKE nodes carry no cluster-name label; set --cluster-name",
    eks: "nodes carry no alpha.eksctl.io/cluster-name label (not created by eksctl); set --cluster-name",
  };
  const note = notExposed[platform];
  if (note) return { kind: "missing", reason: "not-exposed-by-platform", detail: note };
  return missingFrom({
    kubeadmConfig: s.kubeadmConfig,
    openshiftInfrastructure: s.openshiftInfrastructure,
    nodes: s.nodes,
  });
}

/**
 * The AKS cluster name in the node resource group AKS creates, `MC_<resource group>_<cluster>_<region>`
 * (node label `kubernetes.azure.com/cluster`). Azure regions have no underscore, so the last part
 * is the region; resource group and cluster names may contain underscores, so the name is read
 * only when exactly one underscore is left between them. A custom `--node-resource-group` has no
 * `MC_` form and says nothing.
 */
function aksClusterName(scan: NodeScan | null): Fact<string | null> | null {
  const groups = [...(scan?.labelValues.aksCluster ?? [])];
  const group = groups[0];
  if (groups.length !== 1 || group === undefined) return null;
  const match = /^MC_(.+)_([^_]+)$/i.exec(group);
  const middle = match?.[1]?.split("_");
  if (!match || middle?.length !== 2) return null;
  const [resourceGroup, cluster] = middle;
  if (!resourceGroup || !cluster) return null;
  return {
    value: cluster,
    source: {
      kind: "inferred",
      source: "node label kubernetes.azure.com/cluster",
      detail:
        `the node resource group ${group}, MC_<resource group>_<cluster>_<region>: resource group ` +
        `${resourceGroup}, cluster ${cluster}, region ${match[2]}`,
    },
  };
}

/**
 * configured > kubeadm clusterName > eksctl node label > kind providerID > AKS node resource
 * group > OpenShift infrastructure ID.
 */
export function deriveClusterName(
  s: ParsedSources,
  o: ClusterObservation,
  platform: Platform,
): Fact<string | null> {
  if (o.configured.clusterName) {
    return { value: o.configured.clusterName, source: { kind: "configured", source: "--cluster-name" } };
  }
  const kubeadmName = s.kubeadmConfig.state === "ok" ? s.kubeadmConfig.value.clusterName : null;
  if (kubeadmName) {
    const detail =
      kubeadmName === "kubernetes" ? "kubeadm's default name: the operator did not choose one" : undefined;
    return {
      value: kubeadmName,
      source: observed("kubeadm-config ClusterConfiguration.clusterName", detail),
    };
  }
  const scan = s.nodes.state === "ok" ? s.nodes.value : null;
  const eksctl = singleLabel(scan, scan?.labelValues.eksctlClusterName, "alpha.eksctl.io/cluster-name");
  if (eksctl) return eksctl;
  const kind = singleValue(scan?.kindClusterNames, "node.spec.providerID kind://<provider>/<cluster>/<node>");
  if (kind) return kind;
  const aks = aksClusterName(scan);
  if (aks) return aks;
  const infraName =
    s.openshiftInfrastructure.state === "ok"
      ? s.openshiftInfrastructure.value.status?.infrastructureName
      : null;
  if (infraName) {
    const detail = "the infrastructure ID: the installer's cluster name with a random suffix added";
    return {
      value: infraName,
      source: {
        kind: "inferred",
        source: "Infrastructure.config.openshift.io/cluster status.infrastructureName",
        detail,
      },
    };
  }
  return { value: null, source: clusterNameFallback(s, platform, scan) };
}

/** Configured only: no Kubernetes object names the kubeconfig context or the cloud ARN/ID. */
export function deriveClusterContext(o: ClusterObservation): Fact<string | null> {
  if (o.configured.clusterContext) {
    return {
      value: o.configured.clusterContext,
      source: { kind: "configured", source: "--cluster-context" },
    };
  }
  const detail =
    "the Kubernetes API exposes no context name nor cloud identifier (an EKS ARN needs the AWS account ID, " +
    "which no object shows); set --cluster-context";
  return { value: null, source: { kind: "missing", reason: "not-exposed-by-platform", detail } };
}

/** Node topology labels, then OpenShift's platformStatus region. */
export function deriveRegion(s: ParsedSources): Fact<string | null> {
  const scan = s.nodes.state === "ok" ? s.nodes.value : null;
  const fromLabels =
    singleLabel(scan, scan?.labelValues.region, "topology.kubernetes.io/region") ??
    singleLabel(scan, scan?.labelValues.legacyRegion, "failure-domain.beta.kubernetes.io/region");
  if (fromLabels) return fromLabels;
  const status = s.openshiftInfrastructure.state === "ok" ? s.openshiftInfrastructure.value.status : null;
  const platformStatus = status?.platformStatus;
  const osRegion = platformStatus?.aws?.region ?? platformStatus?.gcp?.region;
  if (osRegion) {
    const field = platformStatus?.aws?.region ? "aws" : "gcp";
    return {
      value: osRegion,
      source: observed(`Infrastructure.config.openshift.io/cluster status.platformStatus.${field}.region`),
    };
  }
  if (!scan) return { value: null, source: missingFrom({ nodes: s.nodes }) };
  const detail = "no node has a topology.kubernetes.io/region label (usual outside clouds)";
  return { value: null, source: { kind: "missing", reason: "not-exposed-by-platform", detail } };
}

export function deriveZones(s: ParsedSources): Fact<string[]> {
  if (s.nodes.state !== "ok") return { value: [], source: missingFrom({ nodes: s.nodes }) };
  const { zone, legacyZone } = s.nodes.value.labelValues;
  const [values, label] = zone.size > 0 ? [zone, NODE_LABELS.zone] : [legacyZone, NODE_LABELS.legacyZone];
  if (values.size === 0) {
    return {
      value: [],
      source: { kind: "missing", reason: "not-exposed-by-platform", detail: "no node has a zone label" },
    };
  }
  return { value: [...values].sort(), source: observed(`node label ${label}`) };
}

/** The kube-system Namespace's UID: what stays the same for the life of a cluster. */
export function deriveClusterUid(s: ParsedSources): Fact<string | null> {
  if (s.kubeSystemNamespace.state !== "ok") {
    return { value: null, source: missingFrom({ kubeSystemNamespace: s.kubeSystemNamespace }) };
  }
  return {
    value: s.kubeSystemNamespace.value.metadata.uid,
    source: observed("Namespace kube-system metadata.uid"),
  };
}

export function deriveVersion(s: ParsedSources): Fact<KubernetesVersion | null> {
  if (s.version.state !== "ok") return { value: null, source: missingFrom({ version: s.version }) };
  const { major, minor, gitVersion, platform } = s.version.value;
  return { value: { major, minor, git_version: gitVersion, platform }, source: observed("/version") };
}

export function deriveAgentPodIp(o: ClusterObservation, d: DiagnosticsRecorder): Fact<string | null> {
  const raw = o.downward.podIp;
  if (!raw) {
    const detail = "POD_IP is not set: the collector runs outside a pod or without the downward API";
    return { value: null, source: { kind: "missing", reason: "not-found", detail } };
  }
  const ip = parseIp(raw);
  if (ip === null) {
    d.invalidIp("downward API POD_IP", raw);
    return {
      value: null,
      source: { kind: "missing", reason: "invalid", detail: `POD_IP is not an IP: ${raw}` },
    };
  }
  return { value: ip.text, source: observed("downward API status.podIP (POD_IP)") };
}

export function deriveAgentNamespace(o: ClusterObservation): Fact<string | null> {
  const { namespace, namespaceSource } = o.downward;
  if (!namespace) {
    const detail = "neither POD_NAMESPACE nor the service-account namespace file is available";
    return { value: null, source: { kind: "missing", reason: "not-found", detail } };
  }
  const source =
    namespaceSource === "service-account-file"
      ? "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
      : "downward API metadata.namespace (POD_NAMESPACE)";
  return { value: namespace, source: observed(source) };
}
