import type { FieldSource, Platform } from "@kasmap/contracts";
import type { DiagnosticsRecorder } from "./diagnostics.ts";
import { mergeCidrs, type ParsedCidr, parseCidr } from "./ip-address.ts";
import { describeSourceStates, missingFrom, type ParsedSources } from "./parsed-sources.ts";

export type CidrFacts = {
  pod_cidrs: string[];
  pod_cidr: string | null;
  service_cidrs: string[];
  service_cidr: string | null;
  sources: Record<"pod_cidrs" | "pod_cidr" | "service_cidrs" | "service_cidr", FieldSource>;
};

type Candidate = { cidrs: ParsedCidr[]; source: FieldSource };

/**
 * Parses a list of ranges. kubeadm's podSubnet/serviceSubnet and kube-proxy's clusterCIDR are
 * comma-separated for dual-stack ("10.244.0.0/16,fd00:10:244::/56"); the declared order is
 * kept because the first range is the cluster's primary family.
 */
function parseCidrList(
  texts: readonly string[],
  where: string,
  diagnostics: DiagnosticsRecorder,
): ParsedCidr[] {
  const seen = new Map<string, ParsedCidr>();
  for (const text of texts.flatMap((t) => t.split(","))) {
    const trimmed = text.trim();
    if (trimmed === "") continue;
    const cidr = parseCidr(trimmed);
    if (cidr === null) diagnostics.invalidCidr(where, trimmed);
    else seen.set(cidr.text, cidr);
  }
  return [...seen.values()];
}

function observed(texts: readonly string[] | null | undefined, source: string, d: DiagnosticsRecorder) {
  const cidrs = texts ? parseCidrList(texts, source, d) : [];
  return cidrs.length > 0 ? { cidrs, source: { kind: "observed", source } as const } : null;
}

/** First IPv4 range, else the first range: the single value the seed API's `*_cidr` expects. */
function primary(cidrs: readonly string[]): string | null {
  return cidrs.find((c) => !c.includes(":")) ?? cidrs[0] ?? null;
}

function podCandidate(s: ParsedSources, d: DiagnosticsRecorder): Candidate | null {
  const network = s.openshiftNetwork.state === "ok" ? s.openshiftNetwork.value : null;
  const openshiftRanges = (network?.status?.clusterNetwork ?? network?.spec?.clusterNetwork)?.map(
    (n) => n.cidr,
  );
  const kubeadm = s.kubeadmConfig.state === "ok" ? s.kubeadmConfig.value.networking?.podSubnet : null;
  const kubeProxy = s.kubeProxyConfig.state === "ok" ? s.kubeProxyConfig.value : null;
  const configured =
    observed(openshiftRanges, "Network.config.openshift.io/cluster status.clusterNetwork", d) ??
    observed(kubeadm ? [kubeadm] : null, "kubeadm-config ClusterConfiguration.networking.podSubnet", d) ??
    observed(kubeProxy ? [kubeProxy] : null, "kube-proxy config.conf clusterCIDR", d);
  if (configured !== null) return configured;
  if (s.nodes.state !== "ok" || s.nodes.value.podCidrs.length === 0) return null;
  // The union of node ranges is what is allocated, not the cluster range it is carved from;
  // we merge it losslessly (adjacent ranges joined, nothing added) and say so.
  const { podCidrs, nodesWithPodCidr, nodeCount } = s.nodes.value;
  const merged = mergeCidrs(podCidrs)
    .map((text) => parseCidr(text))
    .filter((c) => c !== null);
  return {
    cidrs: merged,
    source: {
      kind: "inferred",
      source: "node.spec.podCIDRs",
      detail:
        `union of the per-node ranges of ${nodesWithPodCidr} of ${nodeCount} nodes, adjacent ranges merged; ` +
        `the cluster-wide pod range they are allocated from may be larger and was not readable (${sourceStates(s)})`,
    },
  };
}

function sourceStates(s: ParsedSources): string {
  return describeSourceStates({
    kubeadmConfig: s.kubeadmConfig,
    kubeProxyConfig: s.kubeProxyConfig,
    openshiftNetwork: s.openshiftNetwork,
  });
}

function podMissing(s: ParsedSources, platform: Platform): FieldSource {
  if (platform === "eks") {
    return {
      kind: "missing",
      reason: "not-exposed-by-platform",
      detail:
        "with the Amazon VPC CNI (the EKS default) pods get addresses from the VPC subnets: nodes carry no " +
        "spec.podCIDR and the cluster has no separate pod range",
    };
  }
  const nodesOk = s.nodes.state === "ok";
  return missingFrom(
    {
      nodes: s.nodes,
      kubeadmConfig: s.kubeadmConfig,
      kubeProxyConfig: s.kubeProxyConfig,
      openshiftNetwork: s.openshiftNetwork,
    },
    nodesOk ? "not-exposed-by-platform" : "not-found",
    nodesOk ? "no node has spec.podCIDRs: the CNI allocates pod addresses itself" : undefined,
  );
}

function serviceCandidate(s: ParsedSources, d: DiagnosticsRecorder): Candidate | null {
  // The ServiceCIDR named "kubernetes" is the default range created from the apiserver flags;
  // others extend it (KEP-1880). Default first, then by name, for a stable order.
  const objects = s.serviceCidrs.state === "ok" ? s.serviceCidrs.value : [];
  const ordered = [...objects].sort((a, b) =>
    a.metadata.name === "kubernetes"
      ? -1
      : b.metadata.name === "kubernetes"
        ? 1
        : a.metadata.name < b.metadata.name
          ? -1
          : 1,
  );
  const names = ordered.map((o) => o.metadata.name).join(", ");
  const kubeadm = s.kubeadmConfig.state === "ok" ? s.kubeadmConfig.value.networking?.serviceSubnet : null;
  const network = s.openshiftNetwork.state === "ok" ? s.openshiftNetwork.value : null;
  return (
    observed(
      ordered.flatMap((o) => o.spec.cidrs),
      `ServiceCIDR ${names} spec.cidrs`,
      d,
    ) ??
    observed(kubeadm ? [kubeadm] : null, "kubeadm-config ClusterConfiguration.networking.serviceSubnet", d) ??
    observed(
      network?.status?.serviceNetwork ?? network?.spec?.serviceNetwork,
      "Network.config.openshift.io/cluster status.serviceNetwork",
      d,
    )
  );
}

function serviceMissing(s: ParsedSources): FieldSource {
  const service = s.kubernetesService.state === "ok" ? s.kubernetesService.value.spec : null;
  const ips = service?.clusterIPs?.length
    ? service.clusterIPs
    : service?.clusterIP
      ? [service.clusterIP]
      : [];
  // The apiserver gives default/kubernetes the first address of each service range, so its
  // clusterIP lies inside the range, but the prefix length cannot be recovered from it.
  const note =
    ips.length > 0
      ? `Service default/kubernetes has clusterIP ${ips.join(", ")}, the first address of the service range; ` +
        "the range's prefix length is not exposed, so none is reported"
      : undefined;
  return missingFrom(
    {
      serviceCidrs: s.serviceCidrs,
      kubeadmConfig: s.kubeadmConfig,
      openshiftNetwork: s.openshiftNetwork,
      ...(s.kubernetesService.state === "ok" ? {} : { kubernetesService: s.kubernetesService }),
    },
    "not-exposed-by-platform",
    note,
  );
}

/**
 * Pod and service ranges, most authoritative source first.
 * - pods: OpenShift Network status.clusterNetwork > kubeadm podSubnet > kube-proxy clusterCIDR
 *   (all `observed`, declared order kept) > union of node.spec.podCIDRs (`inferred`, merged,
 *   sorted) > null (`not-exposed-by-platform` on EKS/VPC CNI or when no node has a range).
 * - services: ServiceCIDR objects > kubeadm serviceSubnet > OpenShift serviceNetwork > null;
 *   the kubernetes Service clusterIP is quoted in the reason, never widened into a range.
 * `pod_cidr`/`service_cidr`: first IPv4 range of the list, else its first range.
 */
export function deriveCidrs(
  s: ParsedSources,
  platform: Platform,
  diagnostics: DiagnosticsRecorder,
): CidrFacts {
  const pod = podCandidate(s, diagnostics);
  const service = serviceCandidate(s, diagnostics);
  const podCidrs = pod?.cidrs.map((c) => c.text) ?? [];
  const serviceCidrs = service?.cidrs.map((c) => c.text) ?? [];
  const podSource = pod?.source ?? podMissing(s, platform);
  const serviceSource = service?.source ?? serviceMissing(s);
  return {
    pod_cidrs: podCidrs,
    pod_cidr: primary(podCidrs),
    service_cidrs: serviceCidrs,
    service_cidr: primary(serviceCidrs),
    sources: {
      pod_cidrs: podSource,
      pod_cidr: podSource,
      service_cidrs: serviceSource,
      service_cidr: serviceSource,
    },
  };
}
