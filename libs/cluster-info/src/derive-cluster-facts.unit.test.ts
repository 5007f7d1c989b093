import type { ClusterFacts } from "@kasmap/contracts";
import { ClusterFactsSchema } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { deriveClusterFactsWithDiagnostics } from "./derive-cluster-facts.ts";
import type { ClusterObservation } from "./observation.ts";
import {
  aksObservation,
  eksObservation,
  gkeDualStackObservation,
  k3sObservation,
  kindObservation,
  kubeadmDualStackObservation,
  kubeadmSingleStackObservation,
  minikubeObservation,
  openshiftObservation,
} from "./testing/observations.ts";

const NOW = new Date("2025-03-01T12:00:00Z");

type Case = {
  name: string;
  observation: () => ClusterObservation;
  facts: Partial<ClusterFacts>;
  /** Expected subset of `sources`; keys are field names. */
  sources: Record<string, Record<string, unknown>>;
};

/** Expected `sources` entries; matched as subsets, so a `detail` the code adds is not checked. */
const observed = (source: string) => ({ kind: "observed", source });
const inferred = (source: string) => ({ kind: "inferred", source });
const missing = (reason: string) => ({ kind: "missing", reason });

const cases: Case[] = [
  {
    name: "EKS, VPC CNI, private nodes",
    observation: eksObservation,
    facts: {
      platform: "eks",
      cluster_name: "prod-eu",
      api_endpoint: "https://0123456789ABCDEF0123456789ABCDEF.gr7.eu-west-1.eks.amazonaws.com",
      api_endpoint_ip: "192.168.100.12",
      node_ips: { internal: ["192.168.12.34", "192.168.45.6", "192.168.77.201"], external: [] },
      pod_cidr: null,
      pod_cidrs: [],
      service_cidr: null,
      region: "eu-west-1",
      zones: ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
      node_count: 3,
      agent_pod_ip: "192.168.40.7",
    },
    sources: {
      platform: inferred("/version gitVersion v1.30.4-eks-a737599"),
      cluster_name: observed("node label alpha.eksctl.io/cluster-name"),
      api_endpoint_ip: inferred("EndpointSlice default/kubernetes endpoints[].addresses"),
      pod_cidr: missing("not-exposed-by-platform"),
      service_cidr: missing("not-exposed-by-platform"),
      "node_ips.external": { kind: "observed", detail: "no node has an ExternalIP address" },
      cluster_context: missing("not-exposed-by-platform"),
    },
  },
  {
    name: "GKE dual-stack",
    observation: gkeDualStackObservation,
    facts: {
      platform: "gke",
      cluster_name: null,
      api_endpoint: "https://34.56.78.90",
      api_endpoint_ip: "34.56.78.90",
      node_ips: {
        internal: [
          "10.128.0.5",
          "10.128.0.6",
          "10.128.0.7",
          "2600:1900:4000:1b2:0:5::",
          "2600:1900:4000:1b2:0:6::",
          "2600:1900:4000:1b2:0:7::",
        ],
        external: ["34.123.45.67", "34.123.45.68", "34.123.45.69"],
      },
      // The smallest range covering 10.4.0.0/23 and 10.4.2.0/24 (issue 11).
      pod_cidr: "10.4.0.0/22",
      pod_cidrs: [
        "10.4.0.0/23",
        "10.4.2.0/24",
        "2600:1900:4001:a1b:0:1::/112",
        "2600:1900:4001:a1b:0:2::/112",
        "2600:1900:4001:a1b:0:3::/112",
      ],
      service_cidrs: [],
      region: "us-central1",
      agent_pod_ip: "2600:1900:4001:a1b:0:1:0:1a",
    },
    sources: {
      api_endpoint_ip: observed("api_endpoint host"),
      pod_cidrs: inferred("node.spec.podCIDRs"),
      cluster_name: missing("not-exposed-by-platform"),
      service_cidr: missing("not-exposed-by-platform"),
    },
  },
  {
    name: "AKS, kubenet, in-cluster",
    observation: aksObservation,
    facts: {
      platform: "aks",
      // From the node resource group MC_rg-prod_aks-prod_westeurope (issue 11).
      cluster_name: "aks-prod",
      api_endpoint: "https://10.0.0.1:443",
      api_endpoint_ip: "20.73.120.15",
      pod_cidrs: ["10.244.0.0/23"],
      region: "westeurope",
      zones: ["westeurope-1", "westeurope-2"],
    },
    sources: {
      api_endpoint: {
        kind: "observed",
        detail: "the default/kubernetes Service virtual IP, reachable only from inside the cluster",
      },
      api_endpoint_ip: observed("EndpointSlice default/kubernetes endpoints[].addresses"),
      platform: inferred("node label kubernetes.azure.com/cluster"),
    },
  },
  {
    name: "OpenShift on AWS, OVN-Kubernetes",
    observation: openshiftObservation,
    facts: {
      platform: "openshift",
      cluster_name: "prod-ocp-x7k2p",
      api_endpoint: "https://api.prod-ocp.example.com:6443",
      pod_cidrs: ["10.128.0.0/14"],
      service_cidrs: ["172.30.0.0/16"],
      service_cidr: "172.30.0.0/16",
      region: "us-east-1",
    },
    sources: {
      cluster_name: inferred("Infrastructure.config.openshift.io/cluster status.infrastructureName"),
      api_endpoint: observed("Infrastructure.config.openshift.io/cluster status.apiServerURL"),
      pod_cidrs: observed("Network.config.openshift.io/cluster status.clusterNetwork"),
      service_cidrs: observed("Network.config.openshift.io/cluster status.serviceNetwork"),
    },
  },
  {
    name: "k3s, in-cluster",
    observation: k3sObservation,
    facts: {
      platform: "k3s",
      api_endpoint: "https://10.43.0.1:443",
      api_endpoint_ip: "192.168.1.50",
      pod_cidrs: ["10.42.0.0/24"],
      service_cidr: null,
      agent_namespace: null,
    },
    sources: {
      platform: inferred("/version gitVersion v1.30.4+k3s1"),
      service_cidr: missing("not-exposed-by-platform"),
      agent_namespace: missing("not-found"),
    },
  },
  {
    name: "kind 1.33",
    observation: kindObservation,
    facts: {
      platform: "kind",
      cluster_name: "kind",
      api_endpoint: "https://kind-control-plane:6443",
      api_endpoint_ip: "172.18.0.2",
      pod_cidrs: ["10.244.0.0/16"],
      service_cidrs: ["10.96.0.0/16"],
      region: null,
      zones: [],
      agent_pod_ip: null,
    },
    sources: {
      service_cidrs: observed("ServiceCIDR kubernetes spec.cidrs"),
      pod_cidrs: observed("kubeadm-config ClusterConfiguration.networking.podSubnet"),
      region: missing("not-exposed-by-platform"),
      agent_pod_ip: missing("not-found"),
    },
  },
  {
    name: "minikube",
    observation: minikubeObservation,
    facts: {
      platform: "minikube",
      cluster_name: "mk",
      api_endpoint: "https://control-plane.minikube.internal:8443",
      api_endpoint_ip: "192.168.49.2",
      service_cidrs: ["10.96.0.0/12"],
    },
    sources: { platform: inferred("node label minikube.k8s.io/name") },
  },
  {
    name: "kubeadm single-stack",
    observation: kubeadmSingleStackObservation,
    facts: {
      platform: "kubeadm",
      cluster_name: "kubernetes",
      api_endpoint: "https://10.0.0.10:6443",
      api_endpoint_ip: "10.0.0.10",
      pod_cidrs: ["192.168.0.0/16"],
      service_cidrs: ["10.96.0.0/12"],
      node_count: 3,
    },
    sources: {
      cluster_name: { kind: "observed", detail: "kubeadm's default name: the operator did not choose one" },
      api_endpoint_ip: observed("api_endpoint host"),
      service_cidrs: observed("kubeadm-config ClusterConfiguration.networking.serviceSubnet"),
    },
  },
  {
    name: "kubeadm dual-stack behind a DNS name",
    observation: kubeadmDualStackObservation,
    facts: {
      platform: "kubeadm",
      cluster_name: "lab",
      api_endpoint_ip: "10.0.0.5",
      pod_cidr: "10.244.0.0/16",
      pod_cidrs: ["10.244.0.0/16", "fd00:10:244::/56"],
      service_cidr: "10.96.0.0/16",
      service_cidrs: ["10.96.0.0/16", "fd00:10:96::/112"],
      node_ips: {
        internal: [
          "10.0.0.10",
          "10.0.0.11",
          "10.0.0.12",
          "10.0.0.13",
          "fd00:10::a",
          "fd00:10::b",
          "fd00:10::c",
          "fd00:10::d",
        ],
        external: [],
      },
    },
    sources: {
      api_endpoint_ip: observed("DNS resolution of k8s-api.lab.example by the collector"),
    },
  },
];

describe("deriveClusterFacts per distribution", () => {
  it.each(cases)("$name", ({ observation, facts: expected, sources }) => {
    const { facts, diagnostics } = deriveClusterFactsWithDiagnostics(observation(), NOW);
    expect(facts).toMatchObject(expected);
    expect(facts.sources).toMatchObject(sources);
    expect(facts.observed_at).toBe("2025-03-01T12:00:00.000Z");
    expect(diagnostics).toMatchObject({
      rejectedObjects: {},
      invalidIps: 0,
      invalidCidrs: 0,
      unknownAddressTypes: 0,
    });
    // The result is a valid contract value and every field says where it came from.
    expect(ClusterFactsSchema.parse(facts)).toEqual(facts);
    const fields = Object.keys(facts).filter((k) => k !== "sources" && k !== "node_ips");
    expect(Object.keys(facts.sources).sort()).toEqual(
      [...fields, "node_ips.external", "node_ips.internal"].sort(),
    );
    for (const [field, source] of Object.entries(facts.sources)) {
      const value = field.startsWith("node_ips.") ? 1 : facts[field as keyof ClusterFacts];
      if (value === null) expect(source.kind, field).toBe("missing");
    }
  });

  it("lets configured name and context win, marked configured", () => {
    const observation = {
      ...eksObservation(),
      configured: {
        clusterName: "payments",
        clusterContext: "arn:aws:eks:eu-west-1:111122223333:cluster/payments",
      },
    };
    const { facts } = deriveClusterFactsWithDiagnostics(observation, NOW);
    expect(facts.cluster_name).toBe("payments");
    expect(facts.cluster_context).toBe("arn:aws:eks:eu-west-1:111122223333:cluster/payments");
    expect(facts.sources.cluster_name).toEqual({ kind: "configured", source: "--cluster-name" });
    expect(facts.sources.cluster_context).toEqual({ kind: "configured", source: "--cluster-context" });
  });

  it("names the AKS node resource group instead of passing it off as the cluster name", () => {
    // Underscores in the resource group make MC_<group>_<cluster>_<region> ambiguous (issue 11).
    const observation = aksObservation();
    if (observation.nodes.state === "ok") {
      for (const node of observation.nodes.value as { metadata: { labels: Record<string, string> } }[]) {
        node.metadata.labels["kubernetes.azure.com/cluster"] = "MC_rg_prod_aks-prod_westeurope";
      }
    }
    const { facts } = deriveClusterFactsWithDiagnostics(observation, NOW);
    expect(facts.cluster_name).toBeNull();
    expect(facts.sources.cluster_name).toMatchObject({ reason: "not-exposed-by-platform" });
    expect(JSON.stringify(facts.sources.cluster_name)).toContain(
      "node resource group (MC_rg_prod_aks-prod_westeurope)",
    );
  });

  it("reports the kubernetes Service IP without inventing a service range", () => {
    const { facts } = deriveClusterFactsWithDiagnostics(k3sObservation(), NOW);
    expect(facts.service_cidrs).toEqual([]);
    const source = facts.sources.service_cidr;
    expect(source?.kind === "missing" ? source.detail : "").toContain("clusterIP 10.43.0.1");
  });
});
