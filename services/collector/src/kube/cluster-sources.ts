import type { KubernetesObject } from "@kubernetes/client-node";
import type { ResourceSpec } from "./resource-watcher.ts";

type Plain = Record<string, unknown>;

function pick(source: unknown, keys: readonly string[]): Plain | undefined {
  if (source === null || typeof source !== "object") return undefined;
  const out: Plain = {};
  for (const key of keys) {
    const value = (source as Plain)[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** Metadata the derivation reads; drops managedFields and annotations (the bulk of it). */
function slimMetadata(object: KubernetesObject): Plain | undefined {
  return pick(object.metadata, [
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "labels",
    "creationTimestamp",
  ]);
}

/**
 * Nodes without images, conditions and volumes: on a large cluster those are ~90% of a Node's
 * bytes and none of them is infrastructure identity.
 */
export function projectNode(object: KubernetesObject): KubernetesObject | null {
  if (!object.metadata?.name) return null;
  const o = object as KubernetesObject & { spec?: unknown; status?: unknown };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: slimMetadata(object),
    spec: pick(o.spec, ["podCIDR", "podCIDRs", "providerID"]),
    status: {
      ...pick(o.status, ["addresses"]),
      nodeInfo: pick(pick(o.status, ["nodeInfo"])?.nodeInfo, [
        "kubeletVersion",
        "containerRuntimeVersion",
        "osImage",
        "kernelVersion",
        "architecture",
      ]),
    },
  } as KubernetesObject;
}

/** Small objects (Services, ConfigMaps, EndpointSlices, ServiceCIDRs, OpenShift config) are kept whole, minus managedFields. */
export function projectWhole(object: KubernetesObject): KubernetesObject | null {
  if (!object.metadata?.name) return null;
  const { managedFields: _dropped, ...metadata } = object.metadata;
  return { ...object, metadata };
}

export const SOURCE_NAMES = [
  "nodes",
  "kubernetesService",
  "kubernetesEndpointSlices",
  "clusterInfoConfigMap",
  "kubeadmConfig",
  "kubeProxyConfig",
  "serviceCIDRs",
  "openshiftNetwork",
  "openshiftInfrastructure",
] as const;
export type SourceName = (typeof SOURCE_NAMES)[number];

const byName = (name: string) => `metadata.name=${name}`;

/** Everything the collector watches; each entry is one list+watch. */
export const CLUSTER_SOURCES: Record<SourceName, ResourceSpec<KubernetesObject>> = {
  nodes: { name: "nodes", apiVersion: "v1", kind: "Node", path: "/api/v1/nodes", project: projectNode },
  kubernetesService: {
    name: "service default/kubernetes",
    apiVersion: "v1",
    kind: "Service",
    path: "/api/v1/namespaces/default/services",
    namespace: "default",
    fieldSelector: byName("kubernetes"),
    project: projectWhole,
  },
  kubernetesEndpointSlices: {
    name: "endpointslices default/kubernetes",
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    path: "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
    namespace: "default",
    labelSelector: "kubernetes.io/service-name=kubernetes",
    project: projectWhole,
  },
  clusterInfoConfigMap: {
    name: "configmap kube-public/cluster-info",
    apiVersion: "v1",
    kind: "ConfigMap",
    path: "/api/v1/namespaces/kube-public/configmaps",
    namespace: "kube-public",
    fieldSelector: byName("cluster-info"),
    project: projectWhole,
  },
  kubeadmConfig: {
    name: "configmap kube-system/kubeadm-config",
    apiVersion: "v1",
    kind: "ConfigMap",
    path: "/api/v1/namespaces/kube-system/configmaps",
    namespace: "kube-system",
    fieldSelector: byName("kubeadm-config"),
    project: projectWhole,
  },
  kubeProxyConfig: {
    name: "configmap kube-system/kube-proxy",
    apiVersion: "v1",
    kind: "ConfigMap",
    path: "/api/v1/namespaces/kube-system/configmaps",
    namespace: "kube-system",
    fieldSelector: byName("kube-proxy"),
    project: projectWhole,
  },
  serviceCIDRs: {
    name: "servicecidrs",
    apiVersion: "networking.k8s.io/v1",
    kind: "ServiceCIDR",
    path: "/apis/networking.k8s.io/v1/servicecidrs",
    project: projectWhole,
  },
  openshiftNetwork: {
    name: "networks.config.openshift.io/cluster",
    apiVersion: "config.openshift.io/v1",
    kind: "Network",
    path: "/apis/config.openshift.io/v1/networks",
    fieldSelector: byName("cluster"),
    project: projectWhole,
  },
  openshiftInfrastructure: {
    name: "infrastructures.config.openshift.io/cluster",
    apiVersion: "config.openshift.io/v1",
    kind: "Infrastructure",
    path: "/apis/config.openshift.io/v1/infrastructures",
    fieldSelector: byName("cluster"),
    project: projectWhole,
  },
};
