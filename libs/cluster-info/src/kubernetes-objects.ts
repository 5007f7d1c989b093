import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { DiagnosticsRecorder } from "./diagnostics.ts";

/**
 * Boundary schemas for the Kubernetes objects the derivation reads. Lenient on purpose: they
 * name only the fields Kasmap uses (unknown fields pass and are stripped), accept `null` where
 * the API omits empty values, and are applied one object at a time so one malformed object is
 * rejected and counted without failing the whole derivation.
 */

const Labels = z.record(z.string(), z.string()).nullish();
const Metadata = z.object({ name: z.string().nullish(), labels: Labels }).nullish();

/**
 * One entry of `node.status.addresses`. A malformed entry becomes `null` (counted by the
 * address scan) instead of rejecting the whole node, whose other facts are still good.
 */
const NodeAddressSchema = z.object({ type: z.string(), address: z.string() }).nullable().catch(null);

export const NodeSchema = z.object({
  metadata: z.object({ name: z.string(), labels: Labels, annotations: Labels }),
  spec: z
    .object({
      providerID: z.string().nullish(),
      podCIDR: z.string().nullish(),
      podCIDRs: z.array(z.string()).nullish(),
    })
    .nullish(),
  status: z.object({ addresses: z.array(NodeAddressSchema).nullish() }).nullish(),
});
export type KubeNode = z.infer<typeof NodeSchema>;

export const ServiceSchema = z.object({
  metadata: Metadata,
  spec: z.object({ clusterIP: z.string().nullish(), clusterIPs: z.array(z.string()).nullish() }),
});
export type KubeService = z.infer<typeof ServiceSchema>;

export const EndpointSliceSchema = z.object({
  metadata: Metadata,
  /** `IPv4`, `IPv6` or the deprecated `FQDN`. */
  addressType: z.string(),
  endpoints: z
    .array(
      z.object({
        addresses: z.array(z.string()),
        // discovery.k8s.io/v1: "A nil value should be interpreted as 'true'" for `ready`.
        conditions: z.object({ ready: z.boolean().nullish() }).nullish(),
      }),
    )
    .nullish(),
});
export type KubeEndpointSlice = z.infer<typeof EndpointSliceSchema>;

export const ConfigMapSchema = z.object({
  metadata: Metadata,
  data: z.record(z.string(), z.string()).nullish(),
});
export type KubeConfigMap = z.infer<typeof ConfigMapSchema>;

/** One entry of `status.conditions` (metav1.Condition); a malformed entry is dropped. */
const ConditionSchema = z
  .object({
    type: z.string(),
    status: z.string(),
    reason: z.string().nullish(),
    message: z.string().nullish(),
  })
  .nullable()
  .catch(null);

export const ServiceCidrSchema = z.object({
  metadata: z.object({ name: z.string(), deletionTimestamp: z.string().nullish() }),
  spec: z.object({ cidrs: z.array(z.string()) }),
  /** `Ready=False` (reason `Terminating`) while addresses of the range are still allocated. */
  status: z.object({ conditions: z.array(ConditionSchema).nullish() }).nullish(),
});
export type KubeServiceCidr = z.infer<typeof ServiceCidrSchema>;

/**
 * `network.openshift.io/v1` ClusterNetwork `default` (OpenShift SDN). `network` is the legacy
 * single range, superseded by `clusterNetworks` (whose entries spell the field `CIDR`).
 */
export const OpenShiftClusterNetworkSchema = z.object({
  network: z.string().nullish(),
  serviceNetwork: z.string().nullish(),
  clusterNetworks: z.array(z.object({ CIDR: z.string() })).nullish(),
});
export type OpenShiftClusterNetwork = z.infer<typeof OpenShiftClusterNetworkSchema>;

/** `crd.projectcalico.org/v1` IPPool. */
export const CalicoIpPoolSchema = z.object({
  metadata: z.object({ name: z.string() }),
  spec: z.object({ cidr: z.string(), disabled: z.boolean().nullish() }),
});
export type CalicoIpPool = z.infer<typeof CalicoIpPoolSchema>;

/** One address family of a CiliumPodIPPool: the cluster-wide ranges per-node ranges are carved from. */
const CiliumPoolFamilySchema = z.object({
  cidrs: z.array(z.string()).nullish(),
  maskSize: z.number().nullish(),
});

/**
 * `cilium.io/v2alpha1` CiliumPodIPPool (Cilium's multi-pool IPAM): `spec.ipv4.cidrs`,
 * `spec.ipv6.cidrs`; https://docs.cilium.io/en/stable/network/concepts/ipam/multi-pool/.
 */
export const CiliumPodIpPoolSchema = z.object({
  metadata: z.object({ name: z.string() }),
  spec: z.object({ ipv4: CiliumPoolFamilySchema.nullish(), ipv6: CiliumPoolFamilySchema.nullish() }),
});
export type CiliumPodIpPool = z.infer<typeof CiliumPodIpPoolSchema>;

/** A Namespace, for its `metadata.uid` (kube-system's names the cluster). */
export const NamespaceSchema = z.object({ metadata: z.object({ name: z.string(), uid: z.string().min(1) }) });
export type KubeNamespace = z.infer<typeof NamespaceSchema>;

const OpenShiftNetworkFields = z.object({
  clusterNetwork: z.array(z.object({ cidr: z.string() })).nullish(),
  serviceNetwork: z.array(z.string()).nullish(),
});
/** `config.openshift.io/v1` Network `cluster`: `status` is what the cluster runs with. */
export const OpenShiftNetworkSchema = z.object({
  spec: OpenShiftNetworkFields.nullish(),
  status: OpenShiftNetworkFields.nullish(),
});
export type OpenShiftNetwork = z.infer<typeof OpenShiftNetworkSchema>;

const RegionStatus = z.object({ region: z.string().nullish() }).nullish();
/** `config.openshift.io/v1` Infrastructure `cluster`. */
export const OpenShiftInfrastructureSchema = z.object({
  status: z
    .object({
      infrastructureName: z.string().nullish(),
      apiServerURL: z.string().nullish(),
      platformStatus: z
        .object({ type: z.string().nullish(), aws: RegionStatus, gcp: RegionStatus })
        .nullish(),
    })
    .nullish(),
});
export type OpenShiftInfrastructure = z.infer<typeof OpenShiftInfrastructureSchema>;

/** `GET /version` (k8s.io/apimachinery version.Info). */
export const VersionInfoSchema = z.object({
  major: z.string().catch(""),
  minor: z.string().catch(""),
  gitVersion: z.string(),
  platform: z.string().catch(""),
});
export type VersionInfo = z.infer<typeof VersionInfoSchema>;

/** kubeadm `ClusterConfiguration` (v1beta3/v1beta4), stored as YAML in `kubeadm-config`. */
export const KubeadmClusterConfigurationSchema = z.object({
  clusterName: z.string().nullish(),
  controlPlaneEndpoint: z.string().nullish(),
  networking: z.object({ podSubnet: z.string().nullish(), serviceSubnet: z.string().nullish() }).nullish(),
});
export type KubeadmClusterConfiguration = z.infer<typeof KubeadmClusterConfigurationSchema>;

/** `KubeProxyConfiguration` in `kube-proxy`'s `config.conf`. */
export const KubeProxyConfigurationSchema = z.object({ clusterCIDR: z.string().nullish() });

/** The kubeconfig in `kube-public/cluster-info` `data.kubeconfig`. */
export const ClusterInfoKubeconfigSchema = z.object({
  clusters: z.array(z.object({ cluster: z.object({ server: z.string() }) })).min(1),
});

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue === undefined ? "invalid" : `${issue.path.join(".") || "(root)"}: ${issue.message}`;
}

/** Validates one object; a failure is counted under `source` and yields null. */
export function parseObject<S extends z.ZodType>(
  schema: S,
  value: unknown,
  source: string,
  diagnostics: DiagnosticsRecorder,
): z.infer<S> | null {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  diagnostics.rejectObject(source, describeIssue(parsed.error));
  return null;
}

/** Parses a YAML document embedded in a ConfigMap key, then validates it. */
export function parseEmbeddedYaml<S extends z.ZodType>(
  schema: S,
  text: string | undefined,
  source: string,
  diagnostics: DiagnosticsRecorder,
): z.infer<S> | null {
  if (text === undefined) return null;
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    diagnostics.rejectObject(source, `YAML: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  }
  return parseObject(schema, document, source, diagnostics);
}
