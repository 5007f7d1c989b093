import type { ClusterFacts } from "@kasmap/contracts";

/**
 * Valid `ClusterFacts` of a one-node kind cluster, for tests and benches; each call returns a
 * fresh object. Override the fields a case is about, and state there every value it relies on.
 */
export function buildClusterFacts(overrides: Partial<ClusterFacts> = {}): ClusterFacts {
  return {
    api_endpoint: "https://10.0.0.1:6443",
    api_endpoint_ip: "10.0.0.1",
    cluster_name: "prod",
    cluster_context: null,
    node_ips: { external: [], internal: ["10.0.1.1"] },
    pod_cidr: "10.244.0.0/16",
    service_cidr: "10.96.0.0/12",
    pod_cidrs: ["10.244.0.0/16"],
    service_cidrs: ["10.96.0.0/12"],
    agent_pod_ip: "10.244.0.5",
    agent_namespace: "gitlab-agent",
    kubernetes_version: null,
    platform: "kind",
    region: null,
    zones: [],
    node_count: 1,
    observed_at: "2026-01-01T00:00:00.000Z",
    sources: { pod_cidr: { kind: "observed", source: "node.spec.podCIDRs" } },
    ...overrides,
  };
}
