import type { ClusterSourceKey, ObservedValue } from "./cluster-sources.ts";

/**
 * What the collector has seen of one cluster: the raw input of {@link deriveClusterFacts}.
 *
 * Every Kubernetes source carries its access state, because "RBAC denied the read" and "the
 * object does not exist" lead to different answers for the auditor (`forbidden` vs
 * `not-found` / `not-exposed-by-platform`). Object values are `unknown`: the derivation
 * validates each object itself (lenient zod schemas, one object at a time), so the collector
 * passes API responses through untouched.
 *
 * The collector maps HTTP 403 to `forbidden` and 404 to `not-found`. A 404 on a whole API
 * group (no `networking.k8s.io/v1` ServiceCIDR before Kubernetes 1.33, no
 * `config.openshift.io` outside OpenShift) is also `not-found`. A source that never answered
 * is not "not found": `unreachable` when no HTTP answer came (connection refused, DNS, TLS,
 * timeout), `error` when the server answered with a status or body the collector cannot use;
 * both carry the error text.
 */
export type Access<T> =
  | { state: "ok"; value: T }
  | { state: "forbidden" }
  | { state: "not-found" }
  | { state: "unreachable"; message: string }
  | { state: "error"; message: string };

export type AccessState = Access<unknown>["state"];

/** How the collector reaches the API server. */
export type CollectorConnection = {
  /** Server URL, e.g. `https://ABCD.gr7.eu-west-1.eks.amazonaws.com` or `https://10.96.0.1:443`. */
  server: string;
  /**
   * `in-cluster`: built from KUBERNETES_SERVICE_HOST/PORT, i.e. the `default/kubernetes`
   * Service virtual IP, which is not an address outside the cluster can use.
   * `kubeconfig`: the `server` of the kubeconfig's current cluster.
   */
  mode: "in-cluster" | "kubeconfig";
};

/** Values the collector's pod learns through the downward API. */
export type DownwardApi = {
  /** `status.podIP` via the POD_IP env var; null when unset (e.g. collector outside a pod). */
  podIp: string | null;
  /** POD_NAMESPACE env var, else the service-account namespace file. */
  namespace: string | null;
  namespaceSource: "env" | "service-account-file" | null;
};

/** Operator-given values; they win over anything observed. */
export type ClusterConfiguration = {
  /** `--cluster-name`. */
  clusterName?: string;
  /** `--cluster-context`, e.g. an EKS ARN `arn:aws:eks:<region>:<account>:cluster/<name>`. */
  clusterContext?: string;
};

/** The access state of every declared source (declared in `CLUSTER_SOURCES`). */
export type ObservedSources = { [K in ClusterSourceKey]: Access<ObservedValue<K>> };

export type ClusterObservation = ObservedSources & {
  /** Null when unknown (tests, replays). */
  connection: CollectorConnection | null;
  /**
   * Addresses the collector shell resolved for the api_endpoint host name (DNS is I/O, so the
   * pure derivation never resolves). Absent or empty: not resolved.
   */
  resolvedApiEndpointIps?: readonly string[];
  downward: DownwardApi;
  configured: ClusterConfiguration;
};
