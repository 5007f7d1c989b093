import { CLUSTER_SOURCES, SERVER_ARGS_ANNOTATIONS, type WatchedSourceKey } from "@kasmap/cluster-info";
import type { KubernetesObject } from "@kubernetes/client-node";
import type { ResourceSpec } from "./resource-watcher.ts";

type Plain = Record<string, unknown>;

function pick(source: unknown, keys: readonly string[]): Plain | undefined {
  if (source === null || typeof source !== "object") return undefined;
  const out: Plain = {};
  for (const key of keys) {
    const value = (source as Plain)[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/**
 * Metadata the derivation reads; drops managedFields and annotations (the bulk of it) except
 * the k3s/RKE2 server arguments.
 */
function slimMetadata(object: KubernetesObject): Plain | undefined {
  const metadata = pick(object.metadata, [
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "labels",
    "creationTimestamp",
  ]);
  const annotations = pick(object.metadata?.annotations, SERVER_ARGS_ANNOTATIONS);
  return metadata && annotations && Object.keys(annotations).length > 0
    ? { ...metadata, annotations }
    : metadata;
}

/**
 * Nodes without images, conditions and volumes: on a large cluster those are ~90% of a Node's
 * bytes and none of them is infrastructure identity.
 */
export function projectNode(object: KubernetesObject): KubernetesObject | null {
  if (!object.metadata?.name) return null;
  const o = object as KubernetesObject & { spec?: unknown; status?: unknown };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: slimMetadata(object),
    spec: pick(o.spec, ["podCIDR", "podCIDRs", "providerID"]),
    status: {
      ...pick(o.status, ["addresses"]),
      nodeInfo: pick(pick(o.status, ["nodeInfo"])?.nodeInfo, [
        "kubeletVersion",
        "containerRuntimeVersion",
        "osImage",
        "kernelVersion",
        "architecture",
      ]),
    },
  } as KubernetesObject;
}

/** Small objects (Services, ConfigMaps, EndpointSlices, ServiceCIDRs, OpenShift config) are kept whole, minus managedFields. */
export function projectWhole(object: KubernetesObject): KubernetesObject | null {
  if (!object.metadata?.name) return null;
  const { managedFields: _dropped, ...metadata } = object.metadata;
  return { ...object, metadata };
}

/**
 * The watch of one declared source: where the declaration says, keeping only what derivation
 * reads. Log lines name it by its `sources` label.
 */
export function resourceSpecFor(key: WatchedSourceKey): ResourceSpec<KubernetesObject> {
  const { label, read } = CLUSTER_SOURCES[key];
  return { name: label, ...read, project: key === "nodes" ? projectNode : projectWhole };
}
