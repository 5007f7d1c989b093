import { z } from "zod";
import type { ManifestObject } from "./build-kustomization.ts";

const KeyReference = z.strictObject({ name: z.string(), key: z.string(), optional: z.boolean().optional() });
const EnvVarSchema = z.strictObject({
  name: z.string().min(1),
  value: z.string().optional(),
  valueFrom: z
    .strictObject({
      configMapKeyRef: KeyReference.optional(),
      secretKeyRef: KeyReference.optional(),
      fieldRef: z.strictObject({ fieldPath: z.string(), apiVersion: z.string().optional() }).optional(),
    })
    .optional(),
});
type EnvVar = z.infer<typeof EnvVarSchema>;

const WorkloadSchema = z.looseObject({
  spec: z.looseObject({
    template: z.looseObject({
      spec: z.looseObject({
        containers: z
          .array(z.looseObject({ name: z.string(), env: z.array(EnvVarSchema).default([]) }))
          .length(1),
      }),
    }),
  }),
});

/** The env list of the one container of a Deployment or StatefulSet (the manifests run one each). */
export function containerEnv(workload: ManifestObject): EnvVar[] {
  const [container] = WorkloadSchema.parse(workload).spec.template.spec.containers;
  return container?.env ?? [];
}

/** What the kubelet would fill in for a Secret key or a downward-API field, in a test. */
export type EnvStubs = {
  secret(name: string, key: string): string;
  field(fieldPath: string): string;
};

/**
 * The environment the container would start with, as the kubelet builds it: literal values,
 * ConfigMap keys looked up in `objects` (a missing optional key or ConfigMap leaves the variable
 * unset, a missing required one throws), Secrets and downward-API fields from `stubs`.
 */
export function resolveContainerEnv(
  workload: ManifestObject,
  objects: readonly ManifestObject[],
  stubs: EnvStubs,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of containerEnv(workload)) {
    const value = resolveVariable(variable, workload.metadata.namespace, objects, stubs);
    if (value !== undefined) env[variable.name] = value;
  }
  return env;
}

function resolveVariable(
  variable: EnvVar,
  namespace: string | undefined,
  objects: readonly ManifestObject[],
  stubs: EnvStubs,
): string | undefined {
  if (variable.value !== undefined) return variable.value;
  const from = variable.valueFrom;
  if (from?.secretKeyRef) return stubs.secret(from.secretKeyRef.name, from.secretKeyRef.key);
  if (from?.fieldRef) return stubs.field(from.fieldRef.fieldPath);
  const reference = from?.configMapKeyRef;
  if (!reference) throw new Error(`${variable.name}: neither a value nor a reference`);
  const configMap = objects.find(
    (object) =>
      object.kind === "ConfigMap" &&
      object.metadata.name === reference.name &&
      object.metadata.namespace === namespace,
  );
  const data = (configMap?.data ?? {}) as Record<string, unknown>;
  const value = data[reference.key];
  if (typeof value === "string") return value;
  if (reference.optional) return undefined;
  throw new Error(`${variable.name}: ConfigMap ${reference.name} has no key ${reference.key}`);
}
