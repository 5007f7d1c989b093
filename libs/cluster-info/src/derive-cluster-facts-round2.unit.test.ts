import { ClusterFactsSchema } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { deriveClusterFactsWithDiagnostics } from "./derive-cluster-facts.ts";
import { unansweredEssentialSources } from "./essential-sources.ts";
import { cidrContains, coveringCidr, parseCidr, parseIp } from "./ip-address.ts";
import type { ClusterObservation } from "./observation.ts";
import {
  buildKubeadmConfig,
  buildKubernetesEndpointSlice,
  buildNode,
  buildServiceCidr,
} from "./testing/kubernetes-objects.ts";
import { aksObservation, emptyObservation, forbidden, kindObservation } from "./testing/observations.ts";
import { verifyClusterInfo } from "./verify-cluster-info.ts";

/** Issue 11, "wrong or misleading today": each case is a value a user read wrong before. */

const NOW = new Date("2025-03-01T12:00:00Z");
const derive = (o: ClusterObservation) => deriveClusterFactsWithDiagnostics(o, NOW).facts;
const ok = <T>(value: T) => ({ state: "ok", value }) as const;

function nodesWithPodCidrs(...ranges: string[][]) {
  return ok(ranges.map((podCIDRs, i) => buildNode({ name: `node-${i}`, podCIDRs })));
}

function covers(outer: string | null, inner: string): boolean {
  const cidr = outer ? parseCidr(outer) : null;
  const range = parseCidr(inner);
  if (!cidr || !range) return false;
  return coveringCidr([cidr, range])?.text === cidr.text;
}

describe("pod_cidr / service_cidr cover every range they summarise", () => {
  it("three node ranges: pod_cidr is their smallest covering range, labelled inferred with how", () => {
    const facts = derive({
      ...emptyObservation(),
      nodes: nodesWithPodCidrs(["10.244.0.0/24"], ["10.244.1.0/24"], ["10.244.2.0/24"]),
    });
    expect(facts.pod_cidrs).toEqual(["10.244.0.0/23", "10.244.2.0/24"]);
    expect(facts.pod_cidr).toBe("10.244.0.0/22");
    // The third node's pods are inside the reported range (they were not with 10.244.0.0/23).
    const podIp = parseIp("10.244.2.17");
    const single = parseCidr(facts.pod_cidr ?? "");
    expect(podIp && single && cidrContains(single, podIp)).toBe(true);
    expect(facts.sources.pod_cidr).toMatchObject({
      kind: "inferred",
      source: "node.spec.podCIDRs",
      detail: expect.stringContaining("smallest range covering all 2 IPv4 ranges of pod_cidrs"),
    });
    expect(facts.sources.pod_cidrs).toMatchObject({ kind: "inferred", source: "node.spec.podCIDRs" });
  });

  it("dual-stack: the single field holds the IPv4 cover, the lists hold both families", () => {
    const facts = derive({
      ...emptyObservation(),
      nodes: nodesWithPodCidrs(["10.4.0.0/24", "fd00:10:4:1::/64"], ["10.4.5.0/24", "fd00:10:4:2::/64"]),
    });
    expect(facts.pod_cidr).toBe("10.4.0.0/21");
    expect(facts.pod_cidrs).toEqual(["10.4.0.0/24", "10.4.5.0/24", "fd00:10:4:1::/64", "fd00:10:4:2::/64"]);
    for (const range of facts.pod_cidrs.filter((c) => !c.includes(":"))) {
      expect(covers(facts.pod_cidr, range), range).toBe(true);
    }
  });

  it("an IPv6-only cluster summarises its IPv6 ranges", () => {
    const facts = derive({
      ...emptyObservation(),
      nodes: nodesWithPodCidrs(["fd00:10:4:1::/64"], ["fd00:10:4:2::/64"]),
    });
    expect(facts.pod_cidr).toBe("fd00:10:4::/62");
  });

  it("one configured range is reported as is, with its own source", () => {
    const facts = derive(kindObservation());
    expect(facts.pod_cidr).toBe("10.244.0.0/16");
    expect(facts.sources.pod_cidr).toEqual(facts.sources.pod_cidrs);
  });

  it("several ServiceCIDRs: service_cidr covers them all, service_cidrs keeps each", () => {
    const facts = derive({
      ...kindObservation(),
      serviceCidrs: ok([
        buildServiceCidr("kubernetes", ["10.96.0.0/16"]),
        buildServiceCidr("extra", ["10.100.0.0/16"]),
      ]),
    });
    expect(facts.service_cidrs).toEqual(["10.96.0.0/16", "10.100.0.0/16"]);
    expect(facts.service_cidr).toBe("10.96.0.0/13");
    expect(facts.sources.service_cidr).toMatchObject({
      kind: "inferred",
      source: "ServiceCIDR kubernetes, extra spec.cidrs",
      detail: expect.stringContaining("10.96.0.0/16, 10.100.0.0/16"),
    });
    expect(ClusterFactsSchema.parse(facts)).toEqual(facts);
  });
});

describe("a terminating ServiceCIDR is not the cluster's range", () => {
  const extra = (change: Record<string, unknown>) => ({
    ...buildServiceCidr("extra", ["10.100.0.0/16"]),
    ...change,
  });

  it.each([
    {
      name: "deletionTimestamp set",
      object: extra({ metadata: { name: "extra", deletionTimestamp: "2025-03-01T11:59:00Z" } }),
      why: "terminating: deletionTimestamp 2025-03-01T11:59:00Z",
    },
    {
      name: "Ready=False",
      object: extra({
        status: {
          conditions: [
            { type: "Ready", status: "False", reason: "Terminating", message: "There are still IPAddresses" },
          ],
        },
      }),
      why: "Ready=False (Terminating: There are still IPAddresses)",
    },
  ])("$name: left out of service_cidrs and named with why", ({ object, why }) => {
    const facts = derive({
      ...kindObservation(),
      serviceCidrs: ok([buildServiceCidr("kubernetes", ["10.96.0.0/16"]), object]),
    });
    expect(facts.service_cidrs).toEqual(["10.96.0.0/16"]);
    expect(facts.service_cidr).toBe("10.96.0.0/16");
    expect(facts.sources.service_cidrs).toMatchObject({
      kind: "observed",
      source: "ServiceCIDR kubernetes spec.cidrs",
      detail: `ServiceCIDR extra (10.100.0.0/16) left out: ${why}`,
    });
  });

  it("a Ready=True ServiceCIDR stays", () => {
    const ready = extra({ status: { conditions: [{ type: "Ready", status: "True" }] } });
    const facts = derive({
      ...kindObservation(),
      serviceCidrs: ok([buildServiceCidr("kubernetes", ["10.96.0.0/16"]), ready]),
    });
    expect(facts.service_cidrs).toEqual(["10.96.0.0/16", "10.100.0.0/16"]);
  });

  it("when every ServiceCIDR is terminating and nothing else says, the field is null and says why", () => {
    const facts = derive({
      ...emptyObservation(),
      serviceCidrs: ok([extra({ metadata: { name: "extra", deletionTimestamp: "2025-03-01T11:59:00Z" } })]),
    });
    expect(facts.service_cidrs).toEqual([]);
    expect(facts.sources.service_cidrs).toMatchObject({
      kind: "missing",
      detail: expect.stringContaining("ServiceCIDR extra (10.100.0.0/16) left out: terminating"),
    });
  });
});

describe("kind: the cluster name is in the node providerID", () => {
  it("reads kind://<provider>/<cluster>/<node> when kubeadm-config is not readable", () => {
    const observation = kindObservation();
    observation.kubeadmConfig = forbidden;
    observation.nodes = ok([
      buildNode({ name: "dev-control-plane", providerID: "kind://podman/dev/dev-control-plane" }),
      buildNode({ name: "dev-worker", providerID: "kind://podman/dev/dev-worker" }),
    ]);
    const facts = derive(observation);
    expect(facts.cluster_name).toBe("dev");
    expect(facts.sources.cluster_name).toEqual({
      kind: "observed",
      source: "node.spec.providerID kind://<provider>/<cluster>/<node>",
    });
  });

  it("kubeadm-config's clusterName still wins (kind writes the same name there)", () => {
    expect(
      derive({ ...kindObservation(), kubeadmConfig: ok(buildKubeadmConfig({ clusterName: "kind" })) })
        .cluster_name,
    ).toBe("kind");
  });
});

describe("a source that failed is not not-found", () => {
  const refused =
    "request to https://10.0.0.1:6443/api/v1/nodes failed, reason: connect ECONNREFUSED 10.0.0.1:6443";

  it("unreachable nodes: every node field says unreachable with the error text", () => {
    const facts = derive({ ...kindObservation(), nodes: { state: "unreachable", message: refused } });
    for (const field of ["node_count", "node_ips.internal", "node_ips.external", "zones"]) {
      expect(facts.sources[field], field).toMatchObject({
        kind: "missing",
        reason: "unreachable",
        detail: expect.stringContaining("ECONNREFUSED 10.0.0.1:6443"),
      });
    }
    expect(ClusterFactsSchema.parse(facts)).toEqual(facts);
  });

  it("an unexpected answer from /version is error, with the status and body", () => {
    const facts = derive({
      ...kindObservation(),
      version: { state: "error", message: "HTTP 500: etcd timeout" },
    });
    expect(facts.kubernetes_version).toBeNull();
    expect(facts.sources.kubernetes_version).toEqual({
      kind: "missing",
      reason: "error",
      detail: "/version: error (HTTP 500: etcd timeout)",
    });
  });

  it("names the essential sources that never answered; forbidden is an answer", () => {
    expect(unansweredEssentialSources(kindObservation())).toEqual([]);
    expect(unansweredEssentialSources({ ...kindObservation(), nodes: forbidden })).toEqual([]);
    expect(
      unansweredEssentialSources({
        ...kindObservation(),
        nodes: { state: "unreachable", message: refused },
        version: { state: "error", message: "HTTP 502: bad gateway" },
      }),
    ).toEqual([`nodes: unreachable (${refused})`, "/version: error (HTTP 502: bad gateway)"]);
  });
});

describe("cluster_uid: the kube-system Namespace UID", () => {
  const kubeSystem = { metadata: { name: "kube-system", uid: "3f1e5c2a-1111-4a6b-9c7d-000000000001" } };

  it("is observed from the Namespace", () => {
    const facts = derive({ ...kindObservation(), kubeSystemNamespace: ok(kubeSystem) });
    expect(facts.cluster_uid).toBe("3f1e5c2a-1111-4a6b-9c7d-000000000001");
    expect(facts.sources.cluster_uid).toEqual({
      kind: "observed",
      source: "Namespace kube-system metadata.uid",
    });
  });

  it("is null with the reason when RBAC forbids it", () => {
    const facts = derive({ ...kindObservation(), kubeSystemNamespace: forbidden });
    expect(facts.cluster_uid).toBeNull();
    expect(facts.sources.cluster_uid).toMatchObject({ kind: "missing", reason: "forbidden" });
  });

  it("verify fails a moved agent, and one whose snapshot has no uid, naming why", () => {
    const facts = derive({ ...kindObservation(), kubeSystemNamespace: ok(kubeSystem) });
    expect(verifyClusterInfo(facts, { cluster_uid: "3f1e5c2a-1111-4a6b-9c7d-000000000001" }).ok).toBe(true);
    const moved = verifyClusterInfo(facts, { cluster_uid: "8b2d6e4f-2222-4c8d-8e9f-000000000002" });
    expect(moved.ok).toBe(false);
    expect(moved.checks[0]?.reason).toContain('expected "8b2d6e4f-2222-4c8d-8e9f-000000000002"');
    const { cluster_uid: _uid, ...older } = facts;
    const unknown = verifyClusterInfo(older, { cluster_uid: "3f1e5c2a-1111-4a6b-9c7d-000000000001" });
    expect(unknown.ok).toBe(false);
  });
});

describe("api_endpoint_ips: every API server address", () => {
  it("keeps api_endpoint_ip first, then the other resolved addresses, then each API server's", () => {
    const facts = derive({
      ...kindObservation(),
      connection: { server: "https://k8s-api.lab.example:6443", mode: "kubeconfig" },
      clusterInfoConfigMap: { state: "not-found" },
      kubeadmConfig: { state: "not-found" },
      resolvedApiEndpointIps: ["203.0.113.9", "203.0.113.8"],
      kubernetesEndpointSlices: ok([
        buildKubernetesEndpointSlice("IPv4", ["10.0.0.12", "10.0.0.10", "10.0.0.11"]),
      ]),
    });
    expect(facts.api_endpoint_ip).toBe("203.0.113.8");
    expect(facts.api_endpoint_ips).toEqual([
      "203.0.113.8",
      "203.0.113.9",
      "10.0.0.10",
      "10.0.0.11",
      "10.0.0.12",
    ]);
    expect(facts.sources.api_endpoint_ips).toMatchObject({ kind: "observed" });
  });

  it("is empty with the reason when the EndpointSlices are forbidden and nothing else says", () => {
    const facts = derive({
      ...kindObservation(),
      kubernetesEndpointSlices: forbidden,
      connection: null,
      clusterInfoConfigMap: { state: "not-found" },
      kubeadmConfig: { state: "not-found" },
    });
    expect(facts.api_endpoint_ips).toEqual([]);
    expect(facts.sources.api_endpoint_ips).toMatchObject({ kind: "missing", reason: "forbidden" });
  });
});

describe("k3s / RKE2: the server's arguments in node annotations", () => {
  // As k3s writes it on a server node (k3s pkg/node: the annotation holds the command line as
  // JSON, secrets masked); RKE2 uses rke2.io/node-args the same way.
  const server = (annotation: string, args: string[]) => {
    const node = buildNode({
      name: "server-1",
      podCIDRs: ["10.42.0.0/24"],
      addresses: [["InternalIP", "192.168.1.50"]],
    });
    return { ...node, metadata: { ...node.metadata, annotations: { [annotation]: JSON.stringify(args) } } };
  };

  it.each([
    {
      name: "k3s --cluster-cidr / --service-cidr",
      node: server("k3s.io/node-args", [
        "server",
        "--cluster-cidr",
        "10.52.0.0/16",
        "--service-cidr",
        "10.53.0.0/16",
        "--token",
        "********",
      ]),
      pod: { cidrs: ["10.52.0.0/16"], source: "node annotation k3s.io/node-args --cluster-cidr" },
      service: { cidrs: ["10.53.0.0/16"], source: "node annotation k3s.io/node-args --service-cidr" },
    },
    {
      name: "RKE2 --flag=value, dual-stack",
      node: server("rke2.io/node-args", [
        "server",
        "--cluster-cidr=10.42.0.0/16,fd00:42::/56",
        "--service-cidr=10.43.0.0/16,fd00:43::/112",
      ]),
      pod: {
        cidrs: ["10.42.0.0/16", "fd00:42::/56"],
        source: "node annotation rke2.io/node-args --cluster-cidr",
      },
      service: {
        cidrs: ["10.43.0.0/16", "fd00:43::/112"],
        source: "node annotation rke2.io/node-args --service-cidr",
      },
    },
  ])("$name", ({ node, pod, service }) => {
    const facts = derive({ ...emptyObservation(), nodes: ok([node]) });
    expect(facts.pod_cidrs).toEqual(pod.cidrs);
    expect(facts.sources.pod_cidrs).toEqual({ kind: "observed", source: pod.source });
    expect(facts.service_cidrs).toEqual(service.cidrs);
    expect(facts.sources.service_cidrs).toEqual({ kind: "observed", source: service.source });
  });

  it("an agent node (no range flags) or a malformed annotation falls back to the node ranges", () => {
    const agent = server("k3s.io/node-args", ["agent", "--server", "https://192.168.1.50:6443"]);
    const broken = {
      ...agent,
      metadata: { ...agent.metadata, annotations: { "k3s.io/node-args": "[not json" } },
    };
    for (const node of [agent, broken]) {
      const facts = derive({ ...emptyObservation(), nodes: ok([node]) });
      expect(facts.pod_cidrs).toEqual(["10.42.0.0/24"]);
      expect(facts.sources.pod_cidrs).toMatchObject({ kind: "inferred", source: "node.spec.podCIDRs" });
    }
  });
});

describe("CNI and OpenShift SDN ranges, for clusters whose pods do not use node ranges", () => {
  // Shapes from the projects' APIs: openshift/api network/v1 ClusterNetwork (entries spell
  // `CIDR`), projectcalico.org IPPool (spec.cidr, spec.disabled), Cilium's cilium-config keys.
  const clusterNetwork = {
    apiVersion: "network.openshift.io/v1",
    kind: "ClusterNetwork",
    metadata: { name: "default" },
    network: "10.128.0.0/14",
    hostsubnetlength: 9,
    serviceNetwork: "172.30.0.0/16",
    pluginName: "redhat/openshift-ovs-networkpolicy",
    clusterNetworks: [
      { CIDR: "10.128.0.0/14", hostSubnetLength: 9 },
      { CIDR: "10.132.0.0/14", hostSubnetLength: 9 },
    ],
  };
  const ipPool = (name: string, cidr: string, disabled = false) => ({
    apiVersion: "crd.projectcalico.org/v1",
    kind: "IPPool",
    metadata: { name },
    spec: { cidr, ipipMode: "Always", natOutgoing: true, blockSize: 26, nodeSelector: "all()", disabled },
  });
  const ciliumConfig = (data: Record<string, string>) => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "cilium-config", namespace: "kube-system" },
    data,
  });
  const nodesWithRanges = nodesWithPodCidrs(["10.244.0.0/24"]);

  it.each([
    {
      name: "OpenShift SDN ClusterNetwork",
      observation: { openshiftClusterNetwork: ok(clusterNetwork) },
      pods: ["10.128.0.0/14", "10.132.0.0/14"],
      podSource: "ClusterNetwork.network.openshift.io/default clusterNetworks[].CIDR",
      services: ["172.30.0.0/16"],
    },
    {
      name: "Calico IPPools (a disabled pool left out)",
      observation: {
        calicoIpPools: ok([
          ipPool("default-ipv4-ippool", "192.168.0.0/16"),
          ipPool("old-pool", "172.16.0.0/16", true),
          ipPool("default-ipv6-ippool", "fd5d:1c2e:3f4a::/48"),
        ]),
      },
      pods: ["192.168.0.0/16", "fd5d:1c2e:3f4a::/48"],
      podSource: "IPPool.crd.projectcalico.org default-ipv4-ippool, default-ipv6-ippool spec.cidr",
      services: [],
    },
    {
      name: "Cilium cluster-pool",
      observation: {
        ciliumConfig: ok(ciliumConfig({ ipam: "cluster-pool", "cluster-pool-ipv4-cidr": "10.0.0.0/8" })),
      },
      pods: ["10.0.0.0/8"],
      podSource: "ConfigMap kube-system/cilium-config cluster-pool-ipv4-cidr / cluster-pool-ipv6-cidr",
      services: [],
    },
  ])("$name", ({ observation, pods, podSource, services }) => {
    const facts = derive({ ...emptyObservation(), nodes: nodesWithRanges, ...observation });
    expect(facts.pod_cidrs).toEqual(pods);
    expect(facts.sources.pod_cidrs).toEqual({ kind: "observed", source: podSource });
    expect(facts.service_cidrs).toEqual(services);
  });

  it("Cilium in kubernetes IPAM mode says nothing about pods: the node ranges stay", () => {
    const facts = derive({
      ...emptyObservation(),
      nodes: nodesWithRanges,
      ciliumConfig: ok(ciliumConfig({ ipam: "kubernetes", "cluster-pool-ipv4-cidr": "10.0.0.0/8" })),
    });
    expect(facts.pod_cidrs).toEqual(["10.244.0.0/24"]);
  });

  // The object of Cilium's multi-pool IPAM documentation, as printed there:
  // https://docs.cilium.io/en/stable/network/concepts/ipam/multi-pool/ ("green-pool").
  const greenPool = {
    apiVersion: "cilium.io/v2alpha1",
    kind: "CiliumPodIPPool",
    metadata: { name: "green-pool" },
    spec: {
      ipv4: { cidrs: ["10.20.0.0/16", "10.30.0.0/16"], maskSize: 24 },
      ipv6: { cidrs: ["fd00::/104"], maskSize: 120 },
    },
  };
  const ipv4Pool = (name: string, cidrs: unknown) => ({
    apiVersion: "cilium.io/v2alpha1",
    kind: "CiliumPodIPPool",
    metadata: { name },
    spec: { ipv4: { cidrs, maskSize: 27 } },
  });
  const greenPoolSource = "CiliumPodIPPool.cilium.io green-pool spec.ipv4.cidrs / spec.ipv6.cidrs";

  it.each([
    { mode: "multi-pool IPAM", data: { ipam: "multi-pool" } },
    { mode: "cilium-config unreadable (forbidden)", data: null },
  ])("Cilium CiliumPodIPPools, $mode: both families of every pool", ({ data }) => {
    const facts = derive({
      ...emptyObservation(),
      nodes: nodesWithRanges,
      ciliumPodIpPools: ok([greenPool]),
      ciliumConfig: data ? ok(ciliumConfig(data)) : forbidden,
    });
    expect(facts.pod_cidrs).toEqual(["10.20.0.0/16", "10.30.0.0/16", "fd00::/104"]);
    expect(facts.sources.pod_cidrs).toEqual({ kind: "observed", source: greenPoolSource });
    // The single value covers both IPv4 ranges, and says it was inferred.
    expect(facts.pod_cidr).toBe("10.16.0.0/12");
    expect(facts.sources.pod_cidr).toMatchObject({ kind: "inferred" });
  });

  it("Cilium in cluster-pool mode with CiliumPodIPPools left over: cilium-config's ranges, not the pools'", () => {
    const facts = derive({
      ...emptyObservation(),
      nodes: nodesWithRanges,
      ciliumPodIpPools: ok([greenPool]),
      ciliumConfig: ok(ciliumConfig({ ipam: "cluster-pool", "cluster-pool-ipv4-cidr": "10.0.0.0/8" })),
    });
    expect(facts.pod_cidrs).toEqual(["10.0.0.0/8"]);
  });

  it("CiliumPodIPPool CRD absent (404 = not-found): not an error, the node ranges stay", () => {
    const { facts, diagnostics } = deriveClusterFactsWithDiagnostics(
      { ...emptyObservation(), nodes: nodesWithRanges, ciliumPodIpPools: { state: "not-found" } },
      NOW,
    );
    expect(facts.pod_cidrs).toEqual(["10.244.0.0/24"]);
    expect(facts.sources.pod_cidrs).toMatchObject({ kind: "inferred", source: "node.spec.podCIDRs" });
    expect(diagnostics.rejectedObjects).toEqual({});
  });

  it("a malformed CiliumPodIPPool is dropped, an invalid range left out; the well-formed pools count", () => {
    const { facts, diagnostics } = deriveClusterFactsWithDiagnostics(
      {
        ...emptyObservation(),
        nodes: nodesWithRanges,
        ciliumPodIpPools: ok([
          ipv4Pool("not-a-list", "10.40.0.0/16"),
          { apiVersion: "cilium.io/v2alpha1", kind: "CiliumPodIPPool", metadata: { name: "no-spec" } },
          ipv4Pool("blue-pool", ["10.50.0.0/16", "10.60.0.0/33"]),
        ]),
      },
      NOW,
    );
    expect(facts.pod_cidrs).toEqual(["10.50.0.0/16"]);
    expect(facts.sources.pod_cidrs).toEqual({
      kind: "observed",
      source: "CiliumPodIPPool.cilium.io blue-pool spec.ipv4.cidrs / spec.ipv6.cidrs",
    });
    expect(diagnostics.rejectedObjects).toEqual({ "CiliumPodIPPool.cilium.io": 2 });
    expect(diagnostics.invalidCidrs).toBe(1);
  });

  it("pools without a single range (empty lists): the node ranges stay", () => {
    const facts = derive({
      ...emptyObservation(),
      nodes: nodesWithRanges,
      ciliumPodIpPools: ok([ipv4Pool("empty", [])]),
    });
    expect(facts.pod_cidrs).toEqual(["10.244.0.0/24"]);
  });

  it("only disabled Calico pools: the node ranges stay", () => {
    const facts = derive({
      ...emptyObservation(),
      nodes: nodesWithRanges,
      calicoIpPools: ok([ipPool("old-pool", "172.16.0.0/16", true)]),
    });
    expect(facts.pod_cidrs).toEqual(["10.244.0.0/24"]);
  });
});

describe("AKS: the cluster name in the node resource group label", () => {
  it("reads MC_<resource group>_<cluster>_<region>, labelled inferred with how", () => {
    const facts = derive(aksObservation());
    expect(facts.cluster_name).toBe("aks-prod");
    expect(facts.sources.cluster_name).toEqual({
      kind: "inferred",
      source: "node label kubernetes.azure.com/cluster",
      detail:
        "the node resource group MC_rg-prod_aks-prod_westeurope, MC_<resource group>_<cluster>_<region>: " +
        "resource group rg-prod, cluster aks-prod, region westeurope",
    });
  });
});
