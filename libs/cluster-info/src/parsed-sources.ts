import type { FieldSource, MissingReason } from "@kasmap/contracts";
import type { z } from "zod";
import type { DiagnosticsRecorder } from "./diagnostics.ts";
import {
  ClusterInfoKubeconfigSchema,
  ConfigMapSchema,
  EndpointSliceSchema,
  type KubeadmClusterConfiguration,
  KubeadmClusterConfigurationSchema,
  type KubeEndpointSlice,
  KubeProxyConfigurationSchema,
  type KubeService,
  type KubeServiceCidr,
  type OpenShiftInfrastructure,
  OpenShiftInfrastructureSchema,
  type OpenShiftNetwork,
  OpenShiftNetworkSchema,
  parseEmbeddedYaml,
  parseObject,
  ServiceCidrSchema,
  ServiceSchema,
  type VersionInfo,
  VersionInfoSchema,
} from "./kubernetes-objects.ts";
import { type NodeScan, scanNodes } from "./node-scan.ts";
import type { Access, ClusterObservation } from "./observation.ts";

/**
 * A source after validation: `invalid` means the object exists but was rejected by its schema
 * (counted in diagnostics), which the facts report as the `invalid` missing reason.
 */
export type Source<T> = Access<T> | { state: "invalid" };

/** Human names used in `sources` entries and reasons. */
export const SOURCE_NAMES = {
  nodes: "nodes",
  service: "Service default/kubernetes",
  endpointSlices: "EndpointSlice default/kubernetes",
  clusterInfo: "ConfigMap kube-public/cluster-info",
  kubeadm: "ConfigMap kube-system/kubeadm-config",
  kubeProxy: "ConfigMap kube-system/kube-proxy",
  serviceCidrs: "ServiceCIDR",
  openshiftNetwork: "Network.config.openshift.io/cluster",
  openshiftInfrastructure: "Infrastructure.config.openshift.io/cluster",
  version: "/version",
} as const;
export type SourceKey = keyof typeof SOURCE_NAMES;

export type ParsedSources = {
  nodes: Source<NodeScan>;
  service: Source<KubeService>;
  endpointSlices: Source<KubeEndpointSlice[]>;
  /** `server` of the first cluster in kube-public/cluster-info's kubeconfig. */
  clusterInfo: Source<string>;
  kubeadm: Source<KubeadmClusterConfiguration>;
  /** Non-empty `clusterCIDR` of kube-proxy's configuration, or `not-found` when empty. */
  kubeProxy: Source<string>;
  serviceCidrs: Source<KubeServiceCidr[]>;
  openshiftNetwork: Source<OpenShiftNetwork>;
  openshiftInfrastructure: Source<OpenShiftInfrastructure>;
  version: Source<VersionInfo>;
};

function mapOk<T, U>(access: Source<T>, parse: (value: T) => U | null): Source<U> {
  if (access.state !== "ok") return access;
  const value = parse(access.value);
  return value === null ? { state: "invalid" } : { state: "ok", value };
}

function parseList<S extends z.ZodType>(
  values: readonly unknown[],
  schema: S,
  source: string,
  diagnostics: DiagnosticsRecorder,
): z.infer<S>[] {
  const out: z.infer<S>[] = [];
  for (const value of values) {
    const parsed = parseObject(schema, value, source, diagnostics);
    if (parsed !== null) out.push(parsed);
  }
  return out;
}

/**
 * Reads the first present key of a ConfigMap, then the YAML document inside it. A ConfigMap
 * without any of the keys does not carry the document (EKS's `kube-proxy` ConfigMap holds only a
 * kubeconfig): that is `not-found`, not a malformed object.
 */
function configMapDocument<S extends z.ZodType>(
  access: Access<unknown>,
  keys: readonly string[],
  schema: S,
  source: string,
  diagnostics: DiagnosticsRecorder,
): Source<z.infer<S>> {
  if (access.state !== "ok") return access;
  const configMap = parseObject(ConfigMapSchema, access.value, source, diagnostics);
  if (configMap === null) return { state: "invalid" };
  const key = keys.find((k) => configMap.data?.[k] !== undefined);
  if (key === undefined) return { state: "not-found" };
  const document = parseEmbeddedYaml(schema, configMap.data?.[key], source, diagnostics);
  return document === null ? { state: "invalid" } : { state: "ok", value: document };
}

function kubeProxyClusterCidr(
  observation: ClusterObservation,
  diagnostics: DiagnosticsRecorder,
): Source<string> {
  // kubeadm writes `config.conf`; an empty clusterCIDR (EKS, many CNIs) says nothing about pods.
  const doc = configMapDocument(
    observation.kubeProxyConfig,
    ["config.conf", "config"],
    KubeProxyConfigurationSchema,
    SOURCE_NAMES.kubeProxy,
    diagnostics,
  );
  if (doc.state !== "ok") return doc;
  const cidr = doc.value.clusterCIDR?.trim();
  return cidr ? { state: "ok", value: cidr } : { state: "not-found" };
}

/** Validates every source once; nothing here throws on a malformed object. */
export function parseSources(
  observation: ClusterObservation,
  diagnostics: DiagnosticsRecorder,
): ParsedSources {
  const o = observation;
  const d = diagnostics;
  const clusterInfoKubeconfig = configMapDocument(
    o.clusterInfoConfigMap,
    ["kubeconfig"],
    ClusterInfoKubeconfigSchema,
    SOURCE_NAMES.clusterInfo,
    d,
  );
  return {
    nodes: mapOk(o.nodes, (nodes) => scanNodes(nodes, d)),
    service: mapOk(o.kubernetesService, (v) => parseObject(ServiceSchema, v, SOURCE_NAMES.service, d)),
    endpointSlices: mapOk(o.kubernetesEndpointSlices, (v) =>
      parseList(v, EndpointSliceSchema, SOURCE_NAMES.endpointSlices, d),
    ),
    clusterInfo: mapOk(clusterInfoKubeconfig, (v) => v.clusters[0]?.cluster.server ?? null),
    kubeadm: configMapDocument(
      o.kubeadmConfig,
      ["ClusterConfiguration"],
      KubeadmClusterConfigurationSchema,
      SOURCE_NAMES.kubeadm,
      d,
    ),
    kubeProxy: kubeProxyClusterCidr(o, d),
    serviceCidrs: mapOk(o.serviceCidrs, (v) => parseList(v, ServiceCidrSchema, SOURCE_NAMES.serviceCidrs, d)),
    openshiftNetwork: mapOk(o.openshiftNetwork, (v) =>
      parseObject(OpenShiftNetworkSchema, v, SOURCE_NAMES.openshiftNetwork, d),
    ),
    openshiftInfrastructure: mapOk(o.openshiftInfrastructure, (v) =>
      parseObject(OpenShiftInfrastructureSchema, v, SOURCE_NAMES.openshiftInfrastructure, d),
    ),
    version: mapOk(o.version, (v) => parseObject(VersionInfoSchema, v, SOURCE_NAMES.version, d)),
  };
}

/**
 * A `missing` source entry whose reason is the strongest among the consulted sources:
 * `forbidden` (RBAC could have hidden the answer) > `invalid` > `fallback` (usually `not-found`).
 * `detail` lists each source's state so the auditor sees what was tried.
 */
export function missingFrom(
  consulted: Partial<Record<SourceKey, Source<unknown>>>,
  fallback: MissingReason = "not-found",
  note?: string,
): FieldSource {
  const entries = Object.entries(consulted) as [SourceKey, Source<unknown>][];
  const states = entries.map(([, s]) => s.state);
  const reason: MissingReason = states.includes("forbidden")
    ? "forbidden"
    : states.includes("invalid")
      ? "invalid"
      : fallback;
  const tried = entries.map(([key, s]) => `${SOURCE_NAMES[key]}: ${s.state === "ok" ? "no value" : s.state}`);
  const detail = [note, tried.join("; ")].filter((part) => part).join(". ");
  return detail ? { kind: "missing", reason, detail } : { kind: "missing", reason };
}
