import type { CollectorReplicaSchema } from "@kasmap/contracts";
import type { z } from "zod";

/** What a collector's heartbeats say about the process (`cluster_info.connections`). */
export type CollectorReplica = Required<{
  [K in keyof z.infer<typeof CollectorReplicaSchema>]: string | null;
}>;

export type CollectorIdentity = {
  /** The pod name in Kubernetes (stable across container restarts); a random UUID outside it. */
  collectorId: string;
  replica: CollectorReplica;
};

export type CollectorIdentityInput = {
  /** `POD_NAME` (downward API `metadata.name`). */
  podName: string | null;
  /** `NODE_NAME` (downward API `spec.nodeName`). */
  nodeName: string | null;
  podIp: string | null;
  namespace: string | null;
  /** The host name; in a pod it is the pod name unless the pod sets `hostname`. */
  hostname: string;
  /** `POD_NAME` or `KUBERNETES_SERVICE_HOST` is set: the process runs in a pod. */
  inKubernetes: boolean;
  version: string | null;
  commit: string | null;
};

/**
 * Who this collector is. Two replicas of one agent differ by pod name, so the pod name is the
 * `collector_id` in Kubernetes: a restarted container keeps its connection. Outside Kubernetes
 * host names are not unique (two collectors on one laptop), so each process is a new collector.
 */
export function collectorIdentity(input: CollectorIdentityInput, randomId: () => string): CollectorIdentity {
  const podName = input.podName ?? (input.hostname || null);
  return {
    collectorId: input.inKubernetes && podName ? podName : randomId(),
    replica: {
      pod_name: podName,
      pod_ip: input.podIp,
      namespace: input.namespace,
      node: input.nodeName,
      version: input.version,
      commit: input.commit,
    },
  };
}
