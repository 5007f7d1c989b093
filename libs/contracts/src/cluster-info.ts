import { z } from "zod";

/**
 * Platforms Kasmap recognises. `unknown` means no signal identified the distribution; it is
 * never a guess.
 */
export const PLATFORMS = [
  "eks",
  "gke",
  "aks",
  "openshift",
  "k3s",
  "kind",
  "minikube",
  "kubeadm",
  "unknown",
] as const;
export const PlatformSchema = z.enum(PLATFORMS);
export type Platform = z.infer<typeof PlatformSchema>;

/**
 * Why a field is null. `unreachable`: the source gave no HTTP answer (connection refused, DNS,
 * TLS, timeout); `error`: it answered with a status or body the collector cannot use. Both name
 * the error in `detail`. (Added after the first four: readers of older snapshots never see them.)
 */
export const MISSING_REASONS = [
  "forbidden",
  "not-exposed-by-platform",
  "not-found",
  "invalid",
  "unreachable",
  "error",
] as const;
export const MissingReasonSchema = z.enum(MISSING_REASONS);
export type MissingReason = z.infer<typeof MissingReasonSchema>;

/**
 * Where one field's value came from, or why it has none.
 * - `observed`: read directly from the named object/field (e.g. `node.spec.podCIDRs`).
 * - `inferred`: computed from the named source; `detail` says how (e.g. a service range
 *   inferred from the `kubernetes` Service IP).
 * - `configured`: given to the collector (`--cluster-name`), which wins over observation.
 * - `missing`: the value is null; `reason` says why.
 *
 * `detail` on `observed`/`configured` qualifies the value without changing its standing (e.g.
 * "the default/kubernetes Service virtual IP, reachable only from inside the cluster").
 */
export const FieldSourceSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("observed"), source: z.string().min(1), detail: z.string().optional() }),
  z.object({ kind: z.literal("inferred"), source: z.string().min(1), detail: z.string().min(1) }),
  z.object({ kind: z.literal("configured"), source: z.string().min(1), detail: z.string().optional() }),
  z.object({ kind: z.literal("missing"), reason: MissingReasonSchema, detail: z.string().optional() }),
]);
export type FieldSource = z.infer<typeof FieldSourceSchema>;

export const KubernetesVersionSchema = z.object({
  major: z.string(),
  minor: z.string(),
  git_version: z.string(),
  platform: z.string(),
});
export type KubernetesVersion = z.infer<typeof KubernetesVersionSchema>;

export const NodeIpsSchema = z.object({
  external: z.array(z.string()),
  internal: z.array(z.string()),
});

/**
 * What the collector derives from the Kubernetes API: the infrastructure facts of one cluster.
 * Field names follow the seed request (snake_case, as GitLab's API). Lists are sorted and
 * de-duplicated so equal clusters hash equally.
 */
export const ClusterFactsSchema = z.object({
  api_endpoint: z.string().nullable(),
  api_endpoint_ip: z.string().nullable(),
  /**
   * Every API server address: `api_endpoint_ip` first, then the other addresses of the host
   * name, then each API server's address in the `kubernetes` EndpointSlice. Absent in snapshots
   * of collectors older than issue 11.
   */
  api_endpoint_ips: z.array(z.string()).optional(),
  cluster_name: z.string().nullable(),
  /**
   * The `kube-system` Namespace's UID: the cluster's identity (OpenTelemetry's `k8s.cluster.uid`).
   * A new value means the agent's token is now used in another cluster. Absent in snapshots of
   * collectors older than issue 11.
   */
  cluster_uid: z.string().nullable().optional(),
  cluster_context: z.string().nullable(),
  node_ips: NodeIpsSchema,
  pod_cidr: z.string().nullable(),
  service_cidr: z.string().nullable(),
  pod_cidrs: z.array(z.string()),
  service_cidrs: z.array(z.string()),
  agent_pod_ip: z.string().nullable(),
  agent_namespace: z.string().nullable(),
  kubernetes_version: KubernetesVersionSchema.nullable(),
  platform: PlatformSchema,
  region: z.string().nullable(),
  zones: z.array(z.string()),
  node_count: z.number().int().nonnegative(),
  /** ISO-8601 time the collector derived these facts. Not part of the content hash. */
  observed_at: z.iso.datetime({ offset: true }),
  sources: z.record(z.string(), FieldSourceSchema),
});
export type ClusterFacts = z.infer<typeof ClusterFactsSchema>;

/**
 * `cluster_info.deployment_status`: `connected` while the last heartbeat is younger than
 * `CONNECTED_WITHIN_MS`; once older, `disconnected` when the projection has confirmed the
 * silence (no newer heartbeat of the agent waits unread in the heartbeat stream: the sweep that
 * records `cluster_agent_disconnected`), else `unknown` (the projection is behind, or has not
 * swept since); `never_connected` without any heartbeat. `unknown` is Kasmap's own value.
 */
export const DEPLOYMENT_STATUSES = ["connected", "disconnected", "unknown", "never_connected"] as const;
export const DeploymentStatusSchema = z
  .enum(DEPLOYMENT_STATUSES)
  .describe(
    "connected: last heartbeat younger than 3 minutes; disconnected: older, and the projection confirmed that no newer heartbeat waits unread; unknown: older, not confirmed yet (the projection is behind on heartbeats, or has not swept since: every 30 s); never_connected: no heartbeat yet.",
  );
export type DeploymentStatus = z.infer<typeof DeploymentStatusSchema>;

/** Longest value (characters): a pod or node name is a DNS subdomain (≤ 253). */
const replicaValue = (max: number) => z.string().min(1).max(max).nullable().optional();

/**
 * Who one collector process is, as its heartbeats say (issue 11; absent in heartbeats of older
 * collectors): its pod (`POD_NAME` from the downward API, else the host name), `POD_IP`,
 * `POD_NAMESPACE`, `NODE_NAME`, and the collector's version and commit. Null when unknown.
 */
export const CollectorReplicaSchema = z.object({
  pod_name: replicaValue(253),
  pod_ip: replicaValue(45),
  namespace: replicaValue(63),
  node: replicaValue(253),
  version: replicaValue(64),
  commit: replicaValue(64),
});

/**
 * One live collector of the agent, like GitLab's GraphQL `connections` of a cluster agent
 * (`connectionId`, `connectedAt`, `metadata { podName podNamespace version commit }`).
 * `connected_at`: its first heartbeat after a silence longer than `CONNECTED_WITHIN_MS`.
 */
export const AgentConnectionSchema = z.object({
  collector_id: z.string(),
  pod_name: z.string().nullable(),
  pod_ip: z.string().nullable(),
  namespace: z.string().nullable(),
  node: z.string().nullable(),
  version: z.string().nullable(),
  commit: z.string().nullable(),
  connected_at: z.iso.datetime({ offset: true }),
  last_heartbeat_at: z.iso.datetime({ offset: true }),
});
export type AgentConnection = z.infer<typeof AgentConnectionSchema>;

/**
 * `cluster_info` as the REST API returns it: the collector's facts plus the connection state
 * known on the server side (`deployment_status`, see `DEPLOYMENT_STATUSES`; `last_connection`,
 * and `connections`: every collector whose last heartbeat is younger than
 * `CONNECTED_WITHIN_MS`, newest heartbeat first; while `deployment_status` is `unknown`, younger
 * at the agent's last heartbeat, so the collectors last heard from stay listed until the silence
 * is confirmed). `agent_pod_ip` is the pod IP of the collector that sent the newest heartbeat,
 * when it reported one, else the snapshot's.
 */
export const ClusterInfoSchema = ClusterFactsSchema.extend({
  deployment_status: DeploymentStatusSchema,
  last_connection: z.iso.datetime({ offset: true }).nullable(),
  connections: z.array(AgentConnectionSchema).optional(),
});
export type ClusterInfo = z.infer<typeof ClusterInfoSchema>;

/** A collector is "connected" while its last heartbeat is younger than this (milliseconds). */
export const CONNECTED_WITHIN_MS = 3 * 60_000;
