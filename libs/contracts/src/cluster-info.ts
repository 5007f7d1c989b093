import { isIP } from "node:net";
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
/**
 * The longest text each free-text field of cluster facts may hold (characters), so that a
 * snapshot's text, like its lists (`CLUSTER_FACTS_LIMITS`), has a bound of its own below NATS'
 * 1 MiB `max_payload`. Where Kubernetes or the cloud bounds the value, the bound is its:
 * - `cluster_name` 253, `region` 253: a DNS subdomain (kubeadm's `clusterName`, eksctl's and
 *   Kubernetes' label values are at most 63; OpenShift's infrastructure name is shorter).
 * - `agent_namespace` 63: a namespace name is a DNS label (RFC 1123).
 * - `agent_pod_ip` 45: the longest IP address text (as `IP_ADDRESS_MAX_CHARS`).
 * - `cluster_uid` 128: a Kubernetes UID is a 36-character UUID; room for other formats.
 * - `cluster_context` 2,048: an AWS ARN is at most 2,048 characters (IAM's `arnType`).
 * - `api_endpoint` 2,048: a URL; 2,048 is what browsers and proxies commonly accept.
 * - `kubernetes_version`'s fields 256 each (`v1.30.2-eks-1552ad0`, `linux/amd64`).
 * - `sources`: at most 64 entries, keys of at most 64 characters (the facts' field names),
 *   `source` at most 256 and `detail` at most 4,096 characters.
 * A collector whose cluster gives a longer value publishes null with the reason in `sources`, and
 * cuts a longer `detail` (`limitClusterFacts` in `@kasmap/cluster-info`).
 */
export const CLUSTER_FACTS_TEXT_LIMITS = {
  api_endpoint: 2_048,
  cluster_name: 253,
  cluster_uid: 128,
  cluster_context: 2_048,
  agent_pod_ip: 45,
  agent_namespace: 63,
  region: 253,
  kubernetesVersionField: 256,
  sourcesEntries: 64,
  sourcesKey: 64,
  sourceName: 256,
  sourceDetail: 4_096,
} as const;

/** The free-text facts `CLUSTER_FACTS_TEXT_LIMITS` bounds, each a string or null. */
export const CLUSTER_FACTS_TEXT_FIELDS = [
  "api_endpoint",
  "cluster_name",
  "cluster_uid",
  "cluster_context",
  "agent_pod_ip",
  "agent_namespace",
  "region",
] as const;

/** A `sources` entry whose `source` and `detail` texts are checked by `name` and `detail`. */
function fieldSourceSchema(name: z.ZodString, detail: z.ZodString) {
  return z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("observed"), source: name, detail: detail.optional() }),
    z.object({ kind: z.literal("inferred"), source: name, detail: detail.min(1) }),
    z.object({ kind: z.literal("configured"), source: name, detail: detail.optional() }),
    z.object({ kind: z.literal("missing"), reason: MissingReasonSchema, detail: detail.optional() }),
  ]);
}

export const FieldSourceSchema = fieldSourceSchema(
  z.string().min(1).max(CLUSTER_FACTS_TEXT_LIMITS.sourceName),
  z.string().max(CLUSTER_FACTS_TEXT_LIMITS.sourceDetail),
);
export type FieldSource = z.infer<typeof FieldSourceSchema>;

/** `FieldSourceSchema` as rows stored before its text was bounded may hold it. */
const StoredFieldSourceSchema = fieldSourceSchema(z.string().min(1), z.string());

const kubernetesVersionSchema = (field: z.ZodString) =>
  z.object({ major: field, minor: field, git_version: field, platform: field });
export const KubernetesVersionSchema = kubernetesVersionSchema(
  z.string().max(CLUSTER_FACTS_TEXT_LIMITS.kubernetesVersionField),
);
export type KubernetesVersion = z.infer<typeof KubernetesVersionSchema>;

/**
 * The most entries each list of cluster facts may hold, so that one snapshot's facts (and every
 * copy of them: the read model, its history, audit details) have a bounded size. Each is derived
 * from a limit Kubernetes itself documents:
 * - Kubernetes supports clusters of at most 5,000 nodes
 *   (https://kubernetes.io/docs/setup/best-practices/cluster-large/).
 * - A node reports one address of each type per IP family: the kubelet's `--node-ip` takes one
 *   address, or a dual-stack pair of one IPv4 and one IPv6 address
 *   (https://kubernetes.io/docs/reference/command-line-tools-reference/kubelet/,
 *   https://kubernetes.io/docs/concepts/services-networking/dual-stack/), so 2 × 5,000 per type.
 * - `node.spec.podCIDRs` holds at most one range per IP family (core/v1 NodeSpec,
 *   https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/node-v1/): their union
 *   is at most 2 × 5,000 ranges; the cluster-wide sources (kubeadm, kube-proxy, CNI pools) hold
 *   fewer.
 * - A ServiceCIDR holds at most two ranges, one per IP family (networking/v1 ServiceCIDRSpec,
 *   KEP-1880), as does `--service-cluster-ip-range`. Kubernetes does not limit how many
 *   ServiceCIDR objects a cluster has: 256 ranges (128 dual-stack objects) is Kasmap's own
 *   headroom over the one or two a cluster has in practice.
 * - `api_endpoint_ips` comes from the `kubernetes` EndpointSlice (one address per API server; a
 *   slice holds at most 1,000 endpoints, discovery/v1 EndpointSlice) and the API host name's DNS
 *   answer: 1,000.
 * - `zones` are distinct `topology.kubernetes.io/zone` node label values: at most one per node.
 *
 * A collector that sees more (a cluster beyond the supported size) keeps the first entries of
 * the sorted list and says so in `sources` (`limitClusterFacts` in `@kasmap/cluster-info`).
 */
export const CLUSTER_FACTS_LIMITS = {
  /** Entries of `node_ips.internal` and of `node_ips.external`, each. */
  nodeIpsPerType: 10_000,
  podCidrs: 10_000,
  serviceCidrs: 256,
  apiEndpointIps: 1_000,
  zones: 5_000,
} as const;

/** Longest IP address text: an IPv4-mapped IPv6 address in full (`ffff:…:ffff:255.255.255.255`). */
const IP_ADDRESS_MAX_CHARS = 45;
/** Longest range text: the longest address and `/128`. */
const CIDR_MAX_CHARS = IP_ADDRESS_MAX_CHARS + 4;
/** Longest Kubernetes label value. */
const LABEL_VALUE_MAX_CHARS = 63;
const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
/** A prefix length as Go's `net.IPNet.String()` writes it: decimal, no sign, no leading zero. */
const PREFIX_LENGTH = /^(?:0|[1-9][0-9]{0,2})$/;

/** 4 or 6 for an IP address without zone id or brackets (see `IpAddressSchema`), else 0. */
function ipFamily(value: string): number {
  if (value.length > IP_ADDRESS_MAX_CHARS || value.includes("%") || value.includes("[")) return 0;
  return isIP(value);
}

/**
 * A cheap check of one string (no zod schema, no issue object per call), its issue message, and
 * what the JSON Schema says of it (a refinement has no JSON Schema form of its own).
 */
interface StringCheck {
  readonly accepts: (value: string) => boolean;
  readonly message: string;
  readonly jsonSchema: Record<string, unknown>;
}

const IP_ADDRESS: StringCheck = {
  accepts: (value) => ipFamily(value) !== 0,
  message: "must be an IPv4 or IPv6 address",
  jsonSchema: { maxLength: IP_ADDRESS_MAX_CHARS, anyOf: [{ format: "ipv4" }, { format: "ipv6" }] },
};

const CIDR: StringCheck = {
  accepts: (value) => {
    const slash = value.indexOf("/");
    if (value.length > CIDR_MAX_CHARS || slash < 0) return false;
    const prefix = value.slice(slash + 1);
    if (!PREFIX_LENGTH.test(prefix)) return false;
    const family = ipFamily(value.slice(0, slash));
    return family !== 0 && Number(prefix) <= (family === 4 ? 32 : 128);
  },
  message: "must be an IPv4 or IPv6 range in CIDR notation",
  jsonSchema: { maxLength: CIDR_MAX_CHARS, anyOf: [{ format: "cidrv4" }, { format: "cidrv6" }] },
};

const LABEL_VALUE_CHECK: StringCheck = {
  accepts: (value) => value.length <= LABEL_VALUE_MAX_CHARS && LABEL_VALUE.test(value),
  message: "must be a Kubernetes label value",
  jsonSchema: { maxLength: LABEL_VALUE_MAX_CHARS, pattern: LABEL_VALUE.source },
};

const checkedString = (check: StringCheck) =>
  z.string().refine(check.accepts, { error: check.message }).meta(check.jsonSchema);

/**
 * One IP address as `node.status.addresses`, EndpointSlices and the kubelet report it: IPv4
 * dotted quad, or IPv6 text (as `isIP` of `node:net` reads them). No zone id (`fe80::1%eth0`)
 * and no brackets: Kubernetes never reports them (Go's `net.IP.String()` has neither), and the
 * collector emits canonical text.
 */
export const IpAddressSchema = checkedString(IP_ADDRESS);

/**
 * One range in CIDR notation (`10.244.0.0/16`, `fd00:10:244::/56`): an address, `/`, and a
 * prefix length of at most 32 (IPv4) or 128 (IPv6).
 */
export const CidrSchema = checkedString(CIDR);

/**
 * A Kubernetes label value (zones are node label values): at most 63 characters, alphanumeric at
 * both ends, `-`, `_`, `.` inside (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set).
 */
export const LabelValueSchema = checkedString(LABEL_VALUE_CHECK);

/**
 * At most `max` strings that `check` accepts. One refinement scans the entries and reports only
 * the first refused one (path: its index): a schema per entry makes zod build an issue per bad
 * entry, and a hostile snapshot of 35,000 of them cost hundreds of ms of CPU per parse. The
 * entry length is checked in that scan too, not by `z.string().max()`, which would also report
 * every entry.
 */
const limitedList = (check: StringCheck, max: number) =>
  z
    .array(z.string().meta(check.jsonSchema))
    .max(max, `must have at most ${max} entries`)
    .superRefine((entries, ctx) => {
      const refused = entries.findIndex((value) => !check.accepts(value));
      if (refused >= 0)
        ctx.addIssue({ code: "custom", message: check.message, path: [refused], input: entries[refused] });
    });

export const NodeIpsSchema = z.object({
  external: limitedList(IP_ADDRESS, CLUSTER_FACTS_LIMITS.nodeIpsPerType),
  internal: limitedList(IP_ADDRESS, CLUSTER_FACTS_LIMITS.nodeIpsPerType),
});

/**
 * What the collector derives from the Kubernetes API: the infrastructure facts of one cluster.
 * Field names follow the seed request (snake_case, as GitLab's API). Lists are sorted and
 * de-duplicated so equal clusters hash equally.
 */
export const ClusterFactsSchema = z.object({
  api_endpoint: z.string().max(CLUSTER_FACTS_TEXT_LIMITS.api_endpoint).nullable(),
  api_endpoint_ip: IpAddressSchema.nullable(),
  /**
   * Every API server address: `api_endpoint_ip` first, then the other addresses of the host
   * name, then each API server's address in the `kubernetes` EndpointSlice. Absent in snapshots
   * of collectors older than issue 11.
   */
  api_endpoint_ips: limitedList(IP_ADDRESS, CLUSTER_FACTS_LIMITS.apiEndpointIps).optional(),
  cluster_name: z.string().max(CLUSTER_FACTS_TEXT_LIMITS.cluster_name).nullable(),
  /**
   * The `kube-system` Namespace's UID: the cluster's identity (OpenTelemetry's `k8s.cluster.uid`).
   * A new value means the agent's token is now used in another cluster. Absent in snapshots of
   * collectors older than issue 11.
   */
  cluster_uid: z.string().max(CLUSTER_FACTS_TEXT_LIMITS.cluster_uid).nullable().optional(),
  cluster_context: z.string().max(CLUSTER_FACTS_TEXT_LIMITS.cluster_context).nullable(),
  node_ips: NodeIpsSchema,
  pod_cidr: CidrSchema.nullable(),
  service_cidr: CidrSchema.nullable(),
  pod_cidrs: limitedList(CIDR, CLUSTER_FACTS_LIMITS.podCidrs),
  service_cidrs: limitedList(CIDR, CLUSTER_FACTS_LIMITS.serviceCidrs),
  agent_pod_ip: z.string().max(CLUSTER_FACTS_TEXT_LIMITS.agent_pod_ip).nullable(),
  agent_namespace: z.string().max(CLUSTER_FACTS_TEXT_LIMITS.agent_namespace).nullable(),
  kubernetes_version: KubernetesVersionSchema.nullable(),
  platform: PlatformSchema,
  region: z.string().max(CLUSTER_FACTS_TEXT_LIMITS.region).nullable(),
  zones: limitedList(LABEL_VALUE_CHECK, CLUSTER_FACTS_LIMITS.zones),
  node_count: z.number().int().nonnegative(),
  /** ISO-8601 time the collector derived these facts. Not part of the content hash. */
  observed_at: z.iso.datetime({ offset: true }),
  sources: z
    .record(z.string().max(CLUSTER_FACTS_TEXT_LIMITS.sourcesKey), FieldSourceSchema)
    .refine((sources) => Object.keys(sources).length <= CLUSTER_FACTS_TEXT_LIMITS.sourcesEntries, {
      error: `must have at most ${CLUSTER_FACTS_TEXT_LIMITS.sourcesEntries} entries`,
    }),
});
export type ClusterFacts = z.infer<typeof ClusterFactsSchema>;

/**
 * Cluster facts as the read model may hold them: what `ClusterFactsSchema` accepted before its
 * lists were checked entry by entry and bounded (`CLUSTER_FACTS_LIMITS`) and its text bounded
 * (`CLUSTER_FACTS_TEXT_LIMITS`). Rows stored then keep
 * being served (an answer, never a 500) while every new snapshot meets the strict schema; a
 * rebuild from the streams dead-letters the old snapshots that break it.
 */
export const StoredClusterFactsSchema = ClusterFactsSchema.extend({
  api_endpoint: z.string().nullable(),
  cluster_name: z.string().nullable(),
  cluster_uid: z.string().nullable().optional(),
  cluster_context: z.string().nullable(),
  agent_pod_ip: z.string().nullable(),
  agent_namespace: z.string().nullable(),
  region: z.string().nullable(),
  kubernetes_version: kubernetesVersionSchema(z.string()).nullable(),
  sources: z.record(z.string(), StoredFieldSourceSchema),
  api_endpoint_ip: z.string().nullable(),
  api_endpoint_ips: z.array(z.string()).optional(),
  node_ips: z.object({ external: z.array(z.string()), internal: z.array(z.string()) }),
  pod_cidr: z.string().nullable(),
  service_cidr: z.string().nullable(),
  pod_cidrs: z.array(z.string()),
  service_cidrs: z.array(z.string()),
  zones: z.array(z.string()),
});

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
 * `CONNECTED_WITHIN_MS`, newest heartbeat first; while `deployment_status` is `unknown`, the list
 * as it was the instant before, until the silence is confirmed). `agent_pod_ip` is the pod IP of the collector that sent the newest heartbeat,
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
