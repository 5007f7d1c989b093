/**
 * The resources the simulator serves, described the way discovery (`/api/v1`, `/apis/...`)
 * reports them. Objects are stored per group and kind, independent of version, so one
 * ServiceCIDR is visible at both `networking.k8s.io/v1` and `/v1beta1`, as on a real server.
 */
export type ResourceDescriptor = {
  readonly group: string;
  readonly versions: readonly string[];
  /** Plural, lower case: the path segment and the RBAC resource name. */
  readonly resource: string;
  readonly singular: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  /**
   * Served only when the loaded objects include this group. A vanilla cluster has no
   * `config.openshift.io`, and collectors detect OpenShift by probing it (404 = not OpenShift).
   */
  readonly onlyWhenGroupHasObjects: boolean;
};

const READ_VERBS = ["get", "list", "watch"] as const;
export const SERVED_VERBS: readonly string[] = READ_VERBS;

export const RESOURCE_CATALOG: readonly ResourceDescriptor[] = [
  core("nodes", "node", "Node", false, ["no"]),
  core("namespaces", "namespace", "Namespace", false, ["ns"]),
  core("services", "service", "Service", true, ["svc"]),
  core("configmaps", "configmap", "ConfigMap", true, ["cm"]),
  core("pods", "pod", "Pod", true, ["po"]),
  {
    group: "discovery.k8s.io",
    versions: ["v1"],
    resource: "endpointslices",
    singular: "endpointslice",
    kind: "EndpointSlice",
    namespaced: true,
    shortNames: [],
    onlyWhenGroupHasObjects: false,
  },
  {
    group: "networking.k8s.io",
    versions: ["v1", "v1beta1"],
    resource: "servicecidrs",
    singular: "servicecidr",
    kind: "ServiceCIDR",
    namespaced: false,
    shortNames: [],
    onlyWhenGroupHasObjects: false,
  },
  openshift("networks", "network", "Network"),
  openshift("infrastructures", "infrastructure", "Infrastructure"),
];

function core(
  resource: string,
  singular: string,
  kind: string,
  namespaced: boolean,
  shortNames: string[],
): ResourceDescriptor {
  return {
    group: "",
    versions: ["v1"],
    resource,
    singular,
    kind,
    namespaced,
    shortNames,
    onlyWhenGroupHasObjects: false,
  };
}

function openshift(resource: string, singular: string, kind: string): ResourceDescriptor {
  return {
    group: "config.openshift.io",
    versions: ["v1"],
    resource,
    singular,
    kind,
    namespaced: false,
    shortNames: [],
    onlyWhenGroupHasObjects: true,
  };
}

/** The key objects are stored under: group and kind, never version. */
export function groupKindKey(group: string, kind: string): string {
  return `${kind}.${group}`;
}

export function findResourceByPath(
  group: string,
  version: string,
  resource: string,
): ResourceDescriptor | undefined {
  return RESOURCE_CATALOG.find(
    (d) => d.group === group && d.resource === resource && d.versions.includes(version),
  );
}

export function findResourceByKind(group: string, kind: string): ResourceDescriptor | undefined {
  return RESOURCE_CATALOG.find((d) => d.group === group && d.kind === kind);
}
