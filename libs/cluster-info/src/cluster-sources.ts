/**
 * Where the collector reads a source: one list+watch of a REST collection, narrowed by
 * selectors where the source is one object (e.g. `metadata.name=kubernetes`).
 */
export type WatchedCollection = {
  apiVersion: string;
  kind: string;
  /** REST collection path, e.g. `/api/v1/nodes` or `/api/v1/namespaces/default/services`. */
  path: string;
  namespace?: string;
  fieldSelector?: string;
  labelSelector?: string;
};

export type ClusterSourceDeclaration = {
  /**
   * How the facts' `sources` entries and reasons name the source. Wire text (it reaches
   * `GET …/cluster_info`), so it never changes for a refactor.
   */
  label: string;
  /** `list`: the observation holds every item; `single`: the one object (or `not-found`). */
  shape: "list" | "single";
  /** A watched collection, or `GET /version`, which has no watch and is polled. */
  read: WatchedCollection | "version-endpoint";
};

const byName = (name: string) => `metadata.name=${name}` as const;

/** The one ConfigMap `namespace/name`. */
const configMap = (namespace: string, name: string) =>
  ({
    apiVersion: "v1",
    kind: "ConfigMap",
    path: `/api/v1/namespaces/${namespace}/configmaps`,
    namespace,
    fieldSelector: byName(name),
  }) as const;

/**
 * Every Kubernetes source of cluster facts, declared once. Its key names the source in the
 * `ClusterObservation`, in the parsed sources and in the collector's watches.
 *
 * Adding a source is an entry here plus its parser in parsed-sources.ts; the compiler then asks
 * for nothing else (the collector watches every `read` collection by itself).
 */
export const CLUSTER_SOURCES = {
  nodes: {
    label: "nodes",
    shape: "list",
    read: { apiVersion: "v1", kind: "Node", path: "/api/v1/nodes" },
  },
  kubernetesService: {
    label: "Service default/kubernetes",
    shape: "single",
    read: {
      apiVersion: "v1",
      kind: "Service",
      path: "/api/v1/namespaces/default/services",
      namespace: "default",
      fieldSelector: byName("kubernetes"),
    },
  },
  kubernetesEndpointSlices: {
    label: "EndpointSlice default/kubernetes",
    shape: "list",
    read: {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      path: "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
      namespace: "default",
      labelSelector: "kubernetes.io/service-name=kubernetes",
    },
  },
  /** kubeadm, kind, minikube: `data.kubeconfig`. */
  clusterInfoConfigMap: {
    label: "ConfigMap kube-public/cluster-info",
    shape: "single",
    read: configMap("kube-public", "cluster-info"),
  },
  /** `data.ClusterConfiguration`, YAML. */
  kubeadmConfig: {
    label: "ConfigMap kube-system/kubeadm-config",
    shape: "single",
    read: configMap("kube-system", "kubeadm-config"),
  },
  /** `data["config.conf"]`, YAML KubeProxyConfiguration. */
  kubeProxyConfig: {
    label: "ConfigMap kube-system/kube-proxy",
    shape: "single",
    read: configMap("kube-system", "kube-proxy"),
  },
  /** Kubernetes 1.33+ (1.31–1.32 as beta). */
  serviceCidrs: {
    label: "ServiceCIDR",
    shape: "list",
    read: {
      apiVersion: "networking.k8s.io/v1",
      kind: "ServiceCIDR",
      path: "/apis/networking.k8s.io/v1/servicecidrs",
    },
  },
  openshiftNetwork: {
    label: "Network.config.openshift.io/cluster",
    shape: "single",
    read: {
      apiVersion: "config.openshift.io/v1",
      kind: "Network",
      path: "/apis/config.openshift.io/v1/networks",
      fieldSelector: byName("cluster"),
    },
  },
  openshiftInfrastructure: {
    label: "Infrastructure.config.openshift.io/cluster",
    shape: "single",
    read: {
      apiVersion: "config.openshift.io/v1",
      kind: "Infrastructure",
      path: "/apis/config.openshift.io/v1/infrastructures",
      fieldSelector: byName("cluster"),
    },
  },
  /** OpenShift SDN (3.x, 4.x before OVN-Kubernetes): `clusterNetworks[].CIDR`, `serviceNetwork`. */
  openshiftClusterNetwork: {
    label: "ClusterNetwork.network.openshift.io/default",
    shape: "single",
    read: {
      apiVersion: "network.openshift.io/v1",
      kind: "ClusterNetwork",
      path: "/apis/network.openshift.io/v1/clusternetworks",
      fieldSelector: byName("default"),
    },
  },
  /** Calico IPAM: the pools pods get addresses from (`spec.cidr`, `spec.disabled`). */
  calicoIpPools: {
    label: "IPPool.crd.projectcalico.org",
    shape: "list",
    read: {
      apiVersion: "crd.projectcalico.org/v1",
      kind: "IPPool",
      path: "/apis/crd.projectcalico.org/v1/ippools",
    },
  },
  /**
   * Cilium's multi-pool IPAM: the pools pods get addresses from (`spec.ipv4.cidrs`,
   * `spec.ipv6.cidrs`). Absent (404) wherever Cilium, or a Cilium with this CRD, is not installed.
   */
  ciliumPodIpPools: {
    label: "CiliumPodIPPool.cilium.io",
    shape: "list",
    read: {
      apiVersion: "cilium.io/v2alpha1",
      kind: "CiliumPodIPPool",
      path: "/apis/cilium.io/v2alpha1/ciliumpodippools",
    },
  },
  /** Cilium's agent configuration: `ipam` and, in cluster-pool mode, `cluster-pool-ipv4-cidr`. */
  ciliumConfig: {
    label: "ConfigMap kube-system/cilium-config",
    shape: "single",
    read: configMap("kube-system", "cilium-config"),
  },
  /**
   * `metadata.uid` identifies the cluster: it is created once with the cluster and survives
   * upgrades (the convention OpenTelemetry uses for `k8s.cluster.uid`).
   */
  kubeSystemNamespace: {
    label: "Namespace kube-system",
    shape: "single",
    read: {
      apiVersion: "v1",
      kind: "Namespace",
      path: "/api/v1/namespaces",
      fieldSelector: byName("kube-system"),
    },
  },
  /** major, minor, gitVersion, platform. */
  version: { label: "/version", shape: "single", read: "version-endpoint" },
} as const satisfies Record<string, ClusterSourceDeclaration>;

export type ClusterSourceKey = keyof typeof CLUSTER_SOURCES;

/** The keys in declaration order. */
export const CLUSTER_SOURCE_KEYS = Object.keys(CLUSTER_SOURCES) as ClusterSourceKey[];

/** Sources the collector list+watches (all but `/version`). */
export type WatchedSourceKey = {
  [K in ClusterSourceKey]: (typeof CLUSTER_SOURCES)[K]["read"] extends WatchedCollection ? K : never;
}[ClusterSourceKey];

export const WATCHED_SOURCE_KEYS = CLUSTER_SOURCE_KEYS.filter(
  (key): key is WatchedSourceKey => CLUSTER_SOURCES[key].read !== "version-endpoint",
);

/** What the observation holds for a source of this shape (objects stay `unknown` until parsed). */
export type ObservedValue<K extends ClusterSourceKey> = (typeof CLUSTER_SOURCES)[K]["shape"] extends "list"
  ? readonly unknown[]
  : unknown;

/** `Service default/kubernetes`: how `sources` entries name a source. */
export function sourceLabel(key: ClusterSourceKey): string {
  return CLUSTER_SOURCES[key].label;
}
