import { z } from "zod";

/**
 * The minimum every Kubernetes object must carry for the simulator to store and serve it.
 * Everything else passes through untouched (`loose`), because the simulator must not lose
 * fields a collector may read.
 */
export const kubeObjectSchema = z.looseObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: z.looseObject({
    name: z.string().min(1),
    namespace: z.string().min(1).optional(),
    labels: z.record(z.string(), z.string()).optional(),
    resourceVersion: z.string().optional(),
    uid: z.string().optional(),
    creationTimestamp: z.string().optional(),
  }),
});

export type KubeObject = z.infer<typeof kubeObjectSchema>;

/** `networking.k8s.io/v1` → `{ group: "networking.k8s.io", version: "v1" }`; `v1` → core group `""`. */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.lastIndexOf("/");
  if (slash < 0) return { group: "", version: apiVersion };
  return { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export function joinApiVersion(group: string, version: string): string {
  return group === "" ? version : `${group}/${version}`;
}
