import type { FieldSource, Platform } from "@kasmap/contracts";
import type { NodeLabelKey, NodeScan } from "./node-scan.ts";
import { missingFrom, type ParsedSources } from "./parsed-sources.ts";

export type PlatformFact = { platform: Platform; source: FieldSource };

type Evidence = { platform: Platform; signals: string[] };

function labelSignal(scan: NodeScan | null, key: NodeLabelKey, label: string, value?: string): string[] {
  const values = scan?.labelValues[key];
  if (!values || values.size === 0) return [];
  if (value !== undefined) return values.has(value) ? [`node label ${label}=${value}`] : [];
  return [`node label ${label}`];
}

function providerSignal(scan: NodeScan | null, scheme: string): string[] {
  const example = scan?.providerIdExamples.get(scheme);
  return example === undefined ? [] : [`node spec.providerID ${example}`];
}

function versionSignal(s: ParsedSources, marker: string): string[] {
  const git = s.version.state === "ok" ? s.version.value.gitVersion : "";
  return git.includes(marker) ? [`/version gitVersion ${git}`] : [];
}

/**
 * Evidence per platform, in decision order. Only *distinguishing* signals decide; a cloud
 * providerID alone does not, because self-managed clusters on that cloud (kops, kubeadm on EC2)
 * carry it too, so providerIDs are listed as supporting evidence only.
 * - OpenShift (ROSA/ARO included) first: its nodes also carry cloud providerIDs.
 * - k3s, minikube and kind before kubeadm: minikube and kind are built with kubeadm and have
 *   kubeadm-config; k3s may run on any cloud.
 * - EKS gitVersion looks like `v1.30.4-eks-a737599`, GKE `v1.30.5-gke.1014001`, k3s `v1.30.2+k3s1`.
 * - The node name suffix `-control-plane` is not used: any kubeadm operator may name a host so.
 */
function collectEvidence(s: ParsedSources): Evidence[] {
  const scan = s.nodes.state === "ok" ? s.nodes.value : null;
  const openshift = [s.openshiftInfrastructure, s.openshiftNetwork].some((x) => x.state === "ok")
    ? ["config.openshift.io/v1 Infrastructure/Network present"]
    : [];
  const strong: Evidence[] = [
    { platform: "openshift", signals: openshift },
    {
      platform: "k3s",
      signals: [
        ...versionSignal(s, "+k3s"),
        ...labelSignal(scan, "instanceType", "node.kubernetes.io/instance-type", "k3s"),
      ],
    },
    { platform: "minikube", signals: labelSignal(scan, "minikubeName", "minikube.k8s.io/name") },
    { platform: "kind", signals: providerSignal(scan, "kind") },
    {
      platform: "eks",
      signals: [
        ...versionSignal(s, "-eks-"),
        ...labelSignal(scan, "eksNodegroup", "eks.amazonaws.com/nodegroup"),
        ...labelSignal(scan, "eksctlClusterName", "alpha.eksctl.io/cluster-name"),
      ],
    },
    {
      platform: "gke",
      signals: [
        ...versionSignal(s, "-gke."),
        ...labelSignal(scan, "gkeNodepool", "cloud.google.com/gke-nodepool"),
      ],
    },
    { platform: "aks", signals: labelSignal(scan, "aksCluster", "kubernetes.azure.com/cluster") },
    {
      platform: "kubeadm",
      signals: s.kubeadmConfig.state === "ok" ? ["ConfigMap kube-system/kubeadm-config present"] : [],
    },
  ];
  const supporting: Partial<Record<Platform, string[]>> = {
    eks: providerSignal(scan, "aws"),
    gke: providerSignal(scan, "gce"),
    aks: providerSignal(scan, "azure"),
  };
  return strong
    .filter((e) => e.signals.length > 0)
    .map((e) => ({ platform: e.platform, signals: [...e.signals, ...(supporting[e.platform] ?? [])] }));
}

/** The distribution, with the evidence that decided it in `sources.platform`. */
export function derivePlatform(s: ParsedSources): PlatformFact {
  const [decided] = collectEvidence(s);
  if (decided === undefined) {
    const missing = missingFrom(
      {
        nodes: s.nodes,
        version: s.version,
        kubeadmConfig: s.kubeadmConfig,
        openshiftInfrastructure: s.openshiftInfrastructure,
      },
      "not-found",
      "no distinguishing signal: platform is unknown",
    );
    return { platform: "unknown", source: missing };
  }
  return {
    platform: decided.platform,
    source: { kind: "inferred", source: decided.signals[0] ?? "", detail: decided.signals.join("; ") },
  };
}
