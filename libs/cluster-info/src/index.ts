export {
  CLUSTER_SOURCE_KEYS,
  CLUSTER_SOURCES,
  type ClusterSourceDeclaration,
  type ClusterSourceKey,
  sourceLabel,
  WATCHED_SOURCE_KEYS,
  type WatchedCollection,
  type WatchedSourceKey,
} from "./cluster-sources.ts";
export { clusterFactsContentHash } from "./content-hash.ts";
export {
  type ClusterFactsDerivation,
  deriveClusterFacts,
  deriveClusterFactsWithDiagnostics,
} from "./derive-cluster-facts.ts";
export { type DerivationDiagnostics, MAX_DIAGNOSTIC_SAMPLES } from "./diagnostics.ts";
export { ESSENTIAL_SOURCE_KEYS, unansweredEssentialSources } from "./essential-sources.ts";
export { cidrContains, type ParsedCidr, type ParsedIp, parseCidr, parseIp } from "./ip-address.ts";
export {
  ClusterInfoKubeconfigSchema,
  ConfigMapSchema,
  EndpointSliceSchema,
  KubeadmClusterConfigurationSchema,
  type KubeConfigMap,
  type KubeEndpointSlice,
  type KubeNode,
  KubeProxyConfigurationSchema,
  type KubeService,
  type KubeServiceCidr,
  NodeSchema,
  type OpenShiftInfrastructure,
  OpenShiftInfrastructureSchema,
  type OpenShiftNetwork,
  OpenShiftNetworkSchema,
  ServiceCidrSchema,
  ServiceSchema,
  type VersionInfo,
  VersionInfoSchema,
} from "./kubernetes-objects.ts";
export { limitClusterFacts } from "./limit-cluster-facts.ts";
export { NodeScanMemo, SERVER_ARGS_ANNOTATIONS } from "./node-scan.ts";
export type {
  Access,
  AccessState,
  ClusterConfiguration,
  ClusterObservation,
  CollectorConnection,
  DownwardApi,
  ObservedSources,
} from "./observation.ts";
export {
  invalidExpectedRanges,
  parseAddressRange,
  unreportedVerification,
  verifyClusterInfo,
} from "./verify-cluster-info.ts";
