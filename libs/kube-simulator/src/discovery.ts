import { joinApiVersion } from "./kube-object.ts";
import { RESOURCE_CATALOG, type ResourceDescriptor, SERVED_VERBS } from "./resource-catalog.ts";

/** What `/version` reports; `kubectl version` and collectors read it for `kubernetes_version`. */
export type VersionInfo = {
  readonly major: string;
  readonly minor: string;
  readonly gitVersion: string;
  readonly gitCommit: string;
  readonly gitTreeState: string;
  readonly buildDate: string;
  readonly goVersion: string;
  readonly compiler: string;
  readonly platform: string;
};

export const DEFAULT_VERSION_INFO: VersionInfo = {
  major: "1",
  minor: "33",
  gitVersion: "v1.33.1",
  gitCommit: "8adc0f041b8e7ad1d30e29cc59c6ae7a15e19828",
  gitTreeState: "clean",
  buildDate: "2025-05-15T08:19:08Z",
  goVersion: "go1.24.2",
  compiler: "gc",
  platform: "linux/amd64",
};

/** Decides which resources are served now (OpenShift groups only when such objects exist). */
export type ServedResources = (descriptor: ResourceDescriptor, version: string) => boolean;

export function apiVersionsBody(serverAddress: string): unknown {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

/** `/apis`: every served named group, preferred version first. */
export function apiGroupListBody(served: ServedResources): unknown {
  return { kind: "APIGroupList", apiVersion: "v1", groups: servedGroups(served).map(apiGroup) };
}

export function apiGroupBody(served: ServedResources, group: string): unknown | undefined {
  const found = servedGroups(served).find((g) => g.name === group);
  return found === undefined ? undefined : { kind: "APIGroup", apiVersion: "v1", ...apiGroup(found) };
}

/** `/api/v1` or `/apis/<group>/<version>`; `undefined` when nothing is served there (→ 404). */
export function apiResourceListBody(
  served: ServedResources,
  group: string,
  version: string,
): unknown | undefined {
  const resources = RESOURCE_CATALOG.filter(
    (d) => d.group === group && d.versions.includes(version) && served(d, version),
  );
  if (resources.length === 0) return undefined;
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: joinApiVersion(group, version),
    resources: resources.map((d) => ({
      name: d.resource,
      singularName: d.singular,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: SERVED_VERBS,
      ...(d.shortNames.length > 0 ? { shortNames: d.shortNames } : {}),
    })),
  };
}

type ServedGroup = { readonly name: string; readonly versions: readonly string[] };

function servedGroups(served: ServedResources): ServedGroup[] {
  const groups = new Map<string, string[]>();
  for (const d of RESOURCE_CATALOG) {
    if (d.group === "") continue;
    const versions = groups.get(d.group) ?? [];
    for (const v of d.versions) if (served(d, v) && !versions.includes(v)) versions.push(v);
    if (versions.length > 0) groups.set(d.group, versions);
  }
  return [...groups].map(([name, versions]) => ({ name, versions }));
}

function apiGroup(group: ServedGroup): Record<string, unknown> {
  const versions = group.versions.map((version) => ({ groupVersion: `${group.name}/${version}`, version }));
  return { name: group.name, versions, preferredVersion: versions[0] };
}
