import type { FieldSource, Platform } from "@kasmap/contracts";
import type { DiagnosticsRecorder } from "./diagnostics.ts";
import { coveringCidr, mergeCidrs, type ParsedCidr, parseCidr } from "./ip-address.ts";
import type { KubeServiceCidr } from "./kubernetes-objects.ts";
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

/** At most this many ranges are quoted in a detail; a 5,000-node union would flood it. */
const QUOTED_RANGES = 4;

function quoteRanges(cidrs: readonly ParsedCidr[]): string {
  const quoted = cidrs.slice(0, QUOTED_RANGES).map((c) => c.text);
  const more = cidrs.length - quoted.length;
  return more > 0 ? `${quoted.join(", ")} and ${more} more` : quoted.join(", ");
}

/**
 * The single value the seed API's `*_cidr` expects: the IPv4 ranges of the list (else its first
 * family's, IPv6-only clusters), summarised by the smallest range holding them all so that no
 * address of the list falls outside it. One range is itself, with the list's source; several are
 * `inferred` and the detail says from what, because the supernet may hold addresses the cluster
 * does not use.
 */
function summarise(
  field: "pod_cidrs" | "service_cidrs",
  candidate: Candidate | null,
): { value: string | null; source: FieldSource | null } {
  const cidrs = candidate?.cidrs ?? [];
  const family = cidrs.some((c) => c.family === 4) ? 4 : 6;
  const members = cidrs.filter((c) => c.family === family);
  const cover = coveringCidr(members);
  if (candidate === null || cover === null) return { value: null, source: null };
  if (members.length === 1) return { value: cover.text, source: candidate.source };
  const listSource = candidate.source;
  const from = listSource.kind === "missing" ? field : listSource.source;
  const upstream = listSource.kind === "inferred" ? ` ${field}: ${listSource.detail}` : "";
  return {
    value: cover.text,
    source: {
      kind: "inferred",
      source: from,
      detail:
        `smallest range covering all ${members.length} IPv${family} ranges of ${field} ` +
        `(${quoteRanges(members)}); it may include addresses outside them, ${field} has the exact ranges.${upstream}`,
    },
  };
}

function podCandidate(s: ParsedSources, d: DiagnosticsRecorder): Candidate | null {
  const network = s.openshiftNetwork.state === "ok" ? s.openshiftNetwork.value : null;
  const openshiftRanges = (network?.status?.clusterNetwork ?? network?.spec?.clusterNetwork)?.map(
    (n) => n.cidr,
  );
  const kubeadm = s.kubeadmConfig.state === "ok" ? s.kubeadmConfig.value.networking?.podSubnet : null;
  const kubeProxy = s.kubeProxyConfig.state === "ok" ? s.kubeProxyConfig.value : null;
  const serverArg = s.nodes.state === "ok" ? s.nodes.value.serverArgs.clusterCidr : null;
  const sdn = s.openshiftClusterNetwork.state === "ok" ? s.openshiftClusterNetwork.value : null;
  const sdnRanges = sdn?.clusterNetworks?.length
    ? sdn.clusterNetworks.map((n) => n.CIDR)
    : sdn?.network
      ? [sdn.network]
      : null;
  const sdnField = sdn?.clusterNetworks?.length ? "clusterNetworks[].CIDR" : "network";
  // Disabled pools hand out no new addresses: not the cluster's pod range any more.
  const pools = s.calicoIpPools.state === "ok" ? s.calicoIpPools.value.filter((p) => !p.spec.disabled) : [];
  const poolNames = pools.map((p) => p.metadata.name).join(", ");
  const cilium = s.ciliumConfig.state === "ok" ? s.ciliumConfig.value : null;
  // Multi-pool IPAM's pools count unless cilium-config names another mode (stray pools then).
  const multiPool = cilium === null || cilium.ipam === "multi-pool";
  const ciliumPools = multiPool && s.ciliumPodIpPools.state === "ok" ? s.ciliumPodIpPools.value : [];
  const ciliumPoolNames = ciliumPools.map((p) => p.metadata.name).join(", ");
  const configured =
    observed(openshiftRanges, "Network.config.openshift.io/cluster status.clusterNetwork", d) ??
    observed(sdnRanges, `ClusterNetwork.network.openshift.io/default ${sdnField}`, d) ??
    observed(kubeadm ? [kubeadm] : null, "kubeadm-config ClusterConfiguration.networking.podSubnet", d) ??
    observed(kubeProxy ? [kubeProxy] : null, "kube-proxy config.conf clusterCIDR", d) ??
    observed(serverArg?.values, `node annotation ${serverArg?.annotation} --cluster-cidr`, d) ??
    observed(
      pools.map((p) => p.spec.cidr),
      `IPPool.crd.projectcalico.org ${poolNames} spec.cidr`,
      d,
    ) ??
    observed(
      ciliumPools.flatMap((p) => [...(p.spec.ipv4?.cidrs ?? []), ...(p.spec.ipv6?.cidrs ?? [])]),
      `CiliumPodIPPool.cilium.io ${ciliumPoolNames} spec.ipv4.cidrs / spec.ipv6.cidrs`,
      d,
    ) ??
    observed(
      cilium?.ipam === "cluster-pool" ? cilium.clusterPool : null,
      "ConfigMap kube-system/cilium-config cluster-pool-ipv4-cidr / cluster-pool-ipv6-cidr",
      d,
    );
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

/** Why a ServiceCIDR is not (or no longer) a range of the cluster, or null when it is. */
function terminatingReason(o: KubeServiceCidr): string | null {
  if (o.metadata.deletionTimestamp) return `terminating: deletionTimestamp ${o.metadata.deletionTimestamp}`;
  const ready = o.status?.conditions?.find((c) => c?.type === "Ready");
  if (ready?.status === "False") {
    const why = [ready.reason, ready.message].filter((part) => part).join(": ");
    return `Ready=False${why ? ` (${why})` : ""}`;
  }
  return null;
}

/** `ServiceCIDR extra (10.100.0.0/16) left out: Ready=False (Terminating)`. */
function describeLeftOut(left: readonly { object: KubeServiceCidr; why: string }[]): string | undefined {
  if (left.length === 0) return undefined;
  return left
    .map(
      ({ object, why }) =>
        `ServiceCIDR ${object.metadata.name} (${object.spec.cidrs.join(", ")}) left out: ${why}`,
    )
    .join("; ");
}

function withNote(candidate: Candidate | null, note: string | undefined): Candidate | null {
  if (candidate === null || note === undefined) return candidate;
  const source = candidate.source;
  if (source.kind === "missing") return candidate;
  const detail = source.detail ? `${source.detail}; ${note}` : note;
  return { ...candidate, source: { ...source, detail } };
}

type ServiceRanges = { candidate: Candidate | null; leftOut: string | undefined };

function serviceCandidate(s: ParsedSources, d: DiagnosticsRecorder): ServiceRanges {
  // The ServiceCIDR named "kubernetes" is the default range created from the apiserver flags;
  // others extend it (KEP-1880). Default first, then by name, for a stable order. One being
  // deleted (deletionTimestamp, or Ready=False while its addresses drain) is no longer a range
  // new Services get addresses from: left out, and named in the source.
  const objects = s.serviceCidrs.state === "ok" ? s.serviceCidrs.value : [];
  const leftOutObjects: { object: KubeServiceCidr; why: string }[] = [];
  const live: KubeServiceCidr[] = [];
  for (const object of objects) {
    const why = terminatingReason(object);
    if (why === null) live.push(object);
    else leftOutObjects.push({ object, why });
  }
  const leftOut = describeLeftOut(leftOutObjects);
  const ordered = live.sort((a, b) =>
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
  const serverArg = s.nodes.state === "ok" ? s.nodes.value.serverArgs.serviceCidr : null;
  const sdn = s.openshiftClusterNetwork.state === "ok" ? s.openshiftClusterNetwork.value : null;
  const network = s.openshiftNetwork.state === "ok" ? s.openshiftNetwork.value : null;
  const candidate =
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
    ) ??
    observed(
      sdn?.serviceNetwork ? [sdn.serviceNetwork] : null,
      "ClusterNetwork.network.openshift.io/default serviceNetwork",
      d,
    ) ??
    observed(serverArg?.values, `node annotation ${serverArg?.annotation} --service-cidr`, d);
  return { candidate: withNote(candidate, leftOut), leftOut };
}

function serviceMissing(s: ParsedSources, leftOut: string | undefined): FieldSource {
  const service = s.kubernetesService.state === "ok" ? s.kubernetesService.value.spec : null;
  const ips = service?.clusterIPs?.length
    ? service.clusterIPs
    : service?.clusterIP
      ? [service.clusterIP]
      : [];
  // The apiserver gives default/kubernetes the first address of each service range, so its
  // clusterIP lies inside the range, but the prefix length cannot be recovered from it.
  const vipNote =
    ips.length > 0
      ? `Service default/kubernetes has clusterIP ${ips.join(", ")}, the first address of the service range; ` +
        "the range's prefix length is not exposed, so none is reported"
      : undefined;
  const note = [leftOut, vipNote].filter((part) => part).join(". ") || undefined;
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
 * `pod_cidr`/`service_cidr`: the smallest range covering every IPv4 range of the list (else of
 * its IPv6 ranges), `inferred` when it summarises more than one range.
 */
export function deriveCidrs(
  s: ParsedSources,
  platform: Platform,
  diagnostics: DiagnosticsRecorder,
): CidrFacts {
  const pod = podCandidate(s, diagnostics);
  const { candidate: service, leftOut } = serviceCandidate(s, diagnostics);
  const podCidrs = pod?.cidrs.map((c) => c.text) ?? [];
  const serviceCidrs = service?.cidrs.map((c) => c.text) ?? [];
  const podSource = pod?.source ?? podMissing(s, platform);
  const serviceSource = service?.source ?? serviceMissing(s, leftOut);
  const podSingle = summarise("pod_cidrs", pod);
  const serviceSingle = summarise("service_cidrs", service);
  return {
    pod_cidrs: podCidrs,
    pod_cidr: podSingle.value,
    service_cidrs: serviceCidrs,
    service_cidr: serviceSingle.value,
    sources: {
      pod_cidrs: podSource,
      pod_cidr: podSingle.source ?? podSource,
      service_cidrs: serviceSource,
      service_cidr: serviceSingle.source ?? serviceSource,
    },
  };
}
