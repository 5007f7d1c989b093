import type { FieldSource, MissingReason } from "@kasmap/contracts";
import type { z } from "zod";
import {
  CLUSTER_SOURCE_KEYS,
  type ClusterSourceKey,
  type ObservedValue,
  sourceLabel,
} from "./cluster-sources.ts";
import type { DiagnosticsRecorder } from "./diagnostics.ts";
import {
  CalicoIpPoolSchema,
  CiliumPodIpPoolSchema,
  ClusterInfoKubeconfigSchema,
  ConfigMapSchema,
  EndpointSliceSchema,
  KubeadmClusterConfigurationSchema,
  KubeProxyConfigurationSchema,
  NamespaceSchema,
  OpenShiftClusterNetworkSchema,
  OpenShiftInfrastructureSchema,
  OpenShiftNetworkSchema,
  parseEmbeddedYaml,
  parseObject,
  ServiceCidrSchema,
  ServiceSchema,
  VersionInfoSchema,
} from "./kubernetes-objects.ts";
import { type NodeScanMemo, scanNodes } from "./node-scan.ts";
import type { Access, ClusterObservation } from "./observation.ts";

/**
 * A source after validation: `invalid` means the object exists but was rejected by its schema
 * (counted in diagnostics), which the facts report as the `invalid` missing reason.
 */
export type Source<T> = Access<T> | { state: "invalid" };

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

/** kubeadm writes `config.conf`; an empty clusterCIDR (EKS, many CNIs) says nothing about pods. */
function kubeProxyClusterCidr(access: Access<unknown>, diagnostics: DiagnosticsRecorder): Source<string> {
  const doc = configMapDocument(
    access,
    ["config.conf", "config"],
    KubeProxyConfigurationSchema,
    sourceLabel("kubeProxyConfig"),
    diagnostics,
  );
  if (doc.state !== "ok") return doc;
  const cidr = doc.value.clusterCIDR?.trim();
  return cidr ? { state: "ok", value: cidr } : { state: "not-found" };
}

/** `server` of the first cluster in kube-public/cluster-info's kubeconfig. */
function clusterInfoServer(access: Access<unknown>, diagnostics: DiagnosticsRecorder): Source<string> {
  const kubeconfig = configMapDocument(
    access,
    ["kubeconfig"],
    ClusterInfoKubeconfigSchema,
    sourceLabel("clusterInfoConfigMap"),
    diagnostics,
  );
  return mapOk(kubeconfig, (v) => v.clusters[0]?.cluster.server ?? null);
}

/**
 * Cilium's IPAM mode (`ipam`, `cluster-pool` when unset: Cilium's default) and its cluster-pool
 * ranges (`cluster-pool-ipv4-cidr`, `-ipv6-cidr`; space- or comma-separated). The ranges say
 * something about pods only in `cluster-pool` mode: in `kubernetes` mode pods take the node
 * ranges, in `multi-pool` mode the CiliumPodIPPools', in cloud modes the VPC's.
 */
function ciliumIpam(
  access: Access<unknown>,
  diagnostics: DiagnosticsRecorder,
): Source<{ ipam: string; clusterPool: string[] }> {
  if (access.state !== "ok") return access;
  const configMap = parseObject(ConfigMapSchema, access.value, sourceLabel("ciliumConfig"), diagnostics);
  if (configMap === null) return { state: "invalid" };
  const data = configMap.data ?? {};
  const clusterPool = [data["cluster-pool-ipv4-cidr"], data["cluster-pool-ipv6-cidr"]]
    .flatMap((text) => (text ?? "").split(/[\s,]+/))
    .filter((text) => text !== "");
  return { state: "ok", value: { ipam: data.ipam ?? "cluster-pool", clusterPool } };
}

type SourceParsers = {
  [K in ClusterSourceKey]: (
    access: Access<ObservedValue<K>>,
    diagnostics: DiagnosticsRecorder,
    memo?: NodeScanMemo,
  ) => Source<unknown>;
};

/** The parser of a source that answers one object: the object, if `schema` accepts it. */
function objectSource<S extends z.ZodType>(key: ClusterSourceKey, schema: S) {
  return (access: Access<unknown>, diagnostics: DiagnosticsRecorder): Source<z.infer<S>> =>
    mapOk(access, (value) => parseObject(schema, value, sourceLabel(key), diagnostics));
}

/** The parser of a source that answers a list: the items `schema` accepts. */
function listSource<S extends z.ZodType>(key: ClusterSourceKey, schema: S) {
  return (access: Access<readonly unknown[]>, diagnostics: DiagnosticsRecorder): Source<z.infer<S>[]> =>
    mapOk(access, (values) => parseList(values, schema, sourceLabel(key), diagnostics));
}

/** One parser per declared source; the compiler asks for one when a source is declared. */
const SOURCE_PARSERS = {
  nodes: (access, d, memo) => mapOk(access, (nodes) => scanNodes(nodes, d, memo)),
  kubernetesService: objectSource("kubernetesService", ServiceSchema),
  kubernetesEndpointSlices: listSource("kubernetesEndpointSlices", EndpointSliceSchema),
  clusterInfoConfigMap: clusterInfoServer,
  kubeadmConfig: (access, d) =>
    configMapDocument(
      access,
      ["ClusterConfiguration"],
      KubeadmClusterConfigurationSchema,
      sourceLabel("kubeadmConfig"),
      d,
    ),
  /** Non-empty `clusterCIDR` of kube-proxy's configuration, or `not-found` when empty. */
  kubeProxyConfig: kubeProxyClusterCidr,
  serviceCidrs: listSource("serviceCidrs", ServiceCidrSchema),
  openshiftNetwork: objectSource("openshiftNetwork", OpenShiftNetworkSchema),
  openshiftInfrastructure: objectSource("openshiftInfrastructure", OpenShiftInfrastructureSchema),
  openshiftClusterNetwork: objectSource("openshiftClusterNetwork", OpenShiftClusterNetworkSchema),
  calicoIpPools: listSource("calicoIpPools", CalicoIpPoolSchema),
  ciliumPodIpPools: listSource("ciliumPodIpPools", CiliumPodIpPoolSchema),
  /** The IPAM mode and the cluster-pool ranges. */
  ciliumConfig: ciliumIpam,
  kubeSystemNamespace: objectSource("kubeSystemNamespace", NamespaceSchema),
  version: objectSource("version", VersionInfoSchema),
} satisfies SourceParsers;

/** Every source, validated: keyed like the observation, typed by its parser. */
export type ParsedSources = {
  [K in ClusterSourceKey]: ReturnType<(typeof SOURCE_PARSERS)[K]>;
};

/** Validates every source once; nothing here throws on a malformed object. */
export function parseSources(
  observation: ClusterObservation,
  diagnostics: DiagnosticsRecorder,
  memo?: NodeScanMemo,
): ParsedSources {
  const parsed: Partial<Record<ClusterSourceKey, Source<unknown>>> = {};
  for (const key of CLUSTER_SOURCE_KEYS) {
    const parse = SOURCE_PARSERS[key] as (
      access: Access<unknown>,
      d: DiagnosticsRecorder,
      memo?: NodeScanMemo,
    ) => Source<unknown>;
    parsed[key] = parse(observation[key], diagnostics, memo);
  }
  return parsed as ParsedSources;
}

function describeState(s: Source<unknown>): string {
  if (s.state === "ok") return "no value";
  if (s.state === "unreachable" || s.state === "error") return `${s.state} (${s.message})`;
  return s.state;
}

/**
 * `ConfigMap kube-system/kube-proxy: forbidden; nodes: unreachable (connect ECONNREFUSED …)`:
 * what was tried, for a reason's detail.
 */
export function describeSourceStates(consulted: Partial<Record<ClusterSourceKey, Source<unknown>>>): string {
  const entries = Object.entries(consulted) as [ClusterSourceKey, Source<unknown>][];
  return entries.map(([key, s]) => `${sourceLabel(key)}: ${describeState(s)}`).join("; ");
}

/** Strongest first: a reason earlier here could have hidden the answer a later one would give. */
const REASON_STRENGTH = ["forbidden", "unreachable", "error", "invalid"] as const;

/**
 * A `missing` source entry whose reason is the strongest among the consulted sources:
 * `forbidden` (RBAC could have hidden the answer) > `unreachable` > `error` (the source never
 * answered) > `invalid` > `fallback` (usually `not-found`). `detail` lists each source's state,
 * with the error text of a failed one, so the auditor sees what was tried.
 */
export function missingFrom(
  consulted: Partial<Record<ClusterSourceKey, Source<unknown>>>,
  fallback: MissingReason = "not-found",
  note?: string,
): FieldSource {
  const states = new Set<string>(Object.values(consulted).map((s) => s.state));
  const reason: MissingReason = REASON_STRENGTH.find((r) => states.has(r)) ?? fallback;
  const detail = [note, describeSourceStates(consulted)].filter((part) => part).join(". ");
  return detail ? { kind: "missing", reason, detail } : { kind: "missing", reason };
}
