import { ClusterFactsSchema } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { deriveClusterFactsWithDiagnostics } from "./derive-cluster-facts.ts";
import {
  buildConfigMap,
  buildKubeadmConfig,
  buildNode,
  buildServiceCidr,
} from "./testing/kubernetes-objects.ts";
import { largeDualStackObservation } from "./testing/large-cluster.ts";
import {
  emptyObservation,
  forbidden,
  kindObservation,
  kubeadmSingleStackObservation,
} from "./testing/observations.ts";

const NOW = new Date("2025-03-01T12:00:00Z");

describe("deriveClusterFacts when RBAC forbids sources", () => {
  it("returns empty lists and nulls with reason forbidden, never a guess", () => {
    const observation = {
      ...kubeadmSingleStackObservation(),
      nodes: forbidden,
      kubeadmConfig: forbidden,
      kubeProxyConfig: forbidden,
      kubernetesEndpointSlices: forbidden,
      clusterInfoConfigMap: forbidden,
      version: forbidden,
    };
    const { facts } = deriveClusterFactsWithDiagnostics(observation, NOW);
    expect(facts).toMatchObject({
      node_ips: { internal: [], external: [] },
      node_count: 0,
      pod_cidr: null,
      service_cidr: null,
      cluster_name: null,
      kubernetes_version: null,
      platform: "unknown",
      // The in-cluster VIP is all that is left, and it is labelled as such.
      api_endpoint: "https://10.96.0.1:443",
      api_endpoint_ip: null,
    });
    for (const field of [
      "node_ips.internal",
      "node_count",
      "pod_cidr",
      "service_cidr",
      "cluster_name",
      "kubernetes_version",
      "api_endpoint_ip",
      "platform",
    ]) {
      expect(facts.sources[field], field).toMatchObject({ kind: "missing", reason: "forbidden" });
    }
    expect(facts.sources.api_endpoint).toMatchObject({
      detail: expect.stringContaining("Service virtual IP"),
    });
  });

  it("says not-found when nothing exists and nothing is forbidden", () => {
    const { facts } = deriveClusterFactsWithDiagnostics(emptyObservation(), NOW);
    expect(facts.platform).toBe("unknown");
    expect(facts.sources.node_count).toMatchObject({ kind: "missing", reason: "not-found" });
    expect(facts.sources.api_endpoint).toMatchObject({ kind: "missing", reason: "not-found" });
    expect(ClusterFactsSchema.safeParse(facts).success).toBe(true);
  });
});

describe("deriveClusterFacts with malformed objects", () => {
  it("rejects a node without a name individually and keeps the others", () => {
    const observation = kindObservation();
    const nodes = observation.nodes.state === "ok" ? observation.nodes.value : [];
    observation.nodes = {
      state: "ok",
      value: [...nodes, { metadata: {}, status: { addresses: [] } }, "garbage"],
    };
    const { facts, diagnostics } = deriveClusterFactsWithDiagnostics(observation, NOW);
    expect(facts.node_count).toBe(2);
    expect(facts.node_ips.internal).toEqual(["172.18.0.2", "172.18.0.3"]);
    expect(diagnostics.rejectedObjects).toEqual({ nodes: 2 });
    expect(facts.sources.node_count).toMatchObject({
      detail: "2 malformed node object(s) rejected and not counted",
    });
  });

  it("drops invalid IPs, ignores DNS-typed addresses and counts unknown types", () => {
    const node = buildNode({
      name: "odd",
      addresses: [
        ["InternalIP", "10.1.2.3"],
        ["InternalIP", "300.1.2.3"],
        ["ExternalIP", "not-an-ip"],
        ["ExternalIP", "2001:DB8::1"],
        ["InternalIP", "fe80::1%eth0"],
        ["Hostname", "odd"],
        ["InternalDNS", "odd.internal"],
        ["VirtualIP", "10.9.9.9"],
      ],
    });
    const broken = {
      ...node,
      status: { addresses: [...(node.status?.addresses ?? []), { type: "InternalIP" }] },
    };
    const { facts, diagnostics } = deriveClusterFactsWithDiagnostics(
      { ...emptyObservation(), nodes: { state: "ok", value: [broken] } },
      NOW,
    );
    expect(facts.node_ips).toEqual({ internal: ["10.1.2.3"], external: ["2001:db8::1"] });
    expect(diagnostics).toMatchObject({
      invalidIps: 3,
      unknownAddressTypes: 1,
      rejectedObjects: { "node.status.addresses": 1 },
    });
    expect(diagnostics.samples).toContain('invalid IP "300.1.2.3" in node odd status.addresses');
  });

  it("keeps all of a node's 100 addresses, de-duplicated and sorted", () => {
    const addresses: [string, string][] = [];
    for (let i = 0; i < 100; i++) addresses.push(["InternalIP", `10.0.${i % 50}.1`]);
    const { facts } = deriveClusterFactsWithDiagnostics(
      { ...emptyObservation(), nodes: { state: "ok", value: [buildNode({ name: "many", addresses })] } },
      NOW,
    );
    expect(facts.node_ips.internal).toHaveLength(50);
    expect(facts.node_ips.internal.slice(0, 3)).toEqual(["10.0.0.1", "10.0.1.1", "10.0.2.1"]);
    expect(facts.node_ips.internal.at(-1)).toBe("10.0.49.1");
  });

  it("drops invalid CIDRs and falls back to the next source", () => {
    const observation = {
      ...kindObservation(),
      kubeadmConfig: {
        state: "ok",
        value: buildKubeadmConfig({ podSubnet: "10.244.0.0/33", serviceSubnet: "bogus" }),
      },
      kubeProxyConfig: { state: "not-found" },
      serviceCidrs: {
        state: "ok",
        value: [buildServiceCidr("kubernetes", ["10.96.0.0/16"]), { metadata: { name: "x" } }],
      },
    } as const;
    const { facts, diagnostics } = deriveClusterFactsWithDiagnostics(observation, NOW);
    expect(facts.pod_cidrs).toEqual(["10.244.0.0/23"]);
    expect(facts.sources.pod_cidrs).toMatchObject({ kind: "inferred", source: "node.spec.podCIDRs" });
    expect(facts.service_cidrs).toEqual(["10.96.0.0/16"]);
    // "bogus" is never read: the ServiceCIDR object answered first.
    expect(diagnostics.invalidCidrs).toBe(1);
    expect(diagnostics.samples).toContain(
      'invalid CIDR "10.244.0.0/33" in kubeadm-config ClusterConfiguration.networking.podSubnet',
    );
    expect(diagnostics.rejectedObjects).toEqual({ ServiceCIDR: 1 });
  });

  it("reports a kubeadm-config with broken YAML as invalid", () => {
    const observation = {
      ...emptyObservation(),
      kubeadmConfig: {
        state: "ok",
        value: buildConfigMap("kube-system", "kubeadm-config", { ClusterConfiguration: "clusterName: [" }),
      },
      version: { state: "ok", value: { major: "1" } },
    } as const;
    const { facts, diagnostics } = deriveClusterFactsWithDiagnostics(observation, NOW);
    expect(facts.cluster_name).toBeNull();
    expect(facts.sources.cluster_name).toMatchObject({ kind: "missing", reason: "invalid" });
    expect(facts.sources.kubernetes_version).toMatchObject({ kind: "missing", reason: "invalid" });
    expect(diagnostics.rejectedObjects).toEqual({ "ConfigMap kube-system/kubeadm-config": 1, "/version": 1 });
  });

  it("reports disagreeing region labels as invalid instead of picking one", () => {
    const nodes = [
      buildNode({ name: "a", labels: { "topology.kubernetes.io/region": "eu-west-1" } }),
      buildNode({ name: "b", labels: { "topology.kubernetes.io/region": "eu-central-1" } }),
    ];
    const { facts } = deriveClusterFactsWithDiagnostics(
      { ...emptyObservation(), nodes: { state: "ok", value: nodes } },
      NOW,
    );
    expect(facts.region).toBeNull();
    expect(facts.sources.region).toMatchObject({
      reason: "invalid",
      detail: expect.stringContaining("eu-central-1, eu-west-1"),
    });
  });
});

describe("deriveClusterFacts on a 5,000-node dual-stack cluster", () => {
  it("derives every node and merges the per-node pod ranges losslessly", () => {
    const { facts, diagnostics } = deriveClusterFactsWithDiagnostics(largeDualStackObservation(5000), NOW);
    expect(facts.node_count).toBe(5000);
    expect(facts.node_ips.internal).toHaveLength(10_000);
    expect(facts.node_ips.external).toHaveLength(5000);
    // 5,000 consecutive /24s from 10.128.0.0 (last 10.147.135.0/24) = 4,096 + 512 + 256 + 128 + 8.
    expect(facts.pod_cidrs.filter((c) => !c.includes(":"))).toEqual([
      "10.128.0.0/12",
      "10.144.0.0/15",
      "10.146.0.0/16",
      "10.147.0.0/17",
      "10.147.128.0/21",
    ]);
    expect(diagnostics.invalidIps).toBe(0);
  });
});
