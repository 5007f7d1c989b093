import { readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { z } from "zod";

/** A Kubernetes object as read from a manifest. */
export type ManifestObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
} & Record<string, unknown>;

const ManifestObjectSchema = z.looseObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: z.looseObject({ name: z.string().min(1), namespace: z.string().min(1).optional() }),
});

/**
 * The part of Kustomize (https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/)
 * the manifests use: `resources` (files and directories, in order) and `replicas`. Strict, so a
 * kustomization that starts using more fails here rather than being built wrongly; the
 * integration test compares this build with `kubectl kustomize`.
 */
const KustomizationSchema = z.strictObject({
  apiVersion: z.literal("kustomize.config.k8s.io/v1beta1"),
  kind: z.literal("Kustomization"),
  resources: z.array(z.string().min(1)).min(1),
  replicas: z.array(z.strictObject({ name: z.string().min(1), count: z.number().int().min(0) })).optional(),
});

/** Kinds whose `spec.replicas` the `replicas` field sets. */
const SCALABLE_KINDS = new Set(["Deployment", "ReplicaSet", "StatefulSet"]);

/**
 * Every YAML document of `file`, parsed as kubectl does (YAML 1.1: `0440` is octal); documents
 * holding only comments are skipped, as kubectl skips them.
 */
export function readManifestDocuments(file: string): unknown[] {
  const documents = parseAllDocuments(readFileSync(file, "utf8"), { version: "1.1" });
  if (!Array.isArray(documents)) return [];
  return documents.flatMap((document) => {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message}`);
    const value: unknown = document.toJS();
    return value === null || value === undefined ? [] : [value];
  });
}

/** The objects `kubectl kustomize <directory>` would output, in resource order. */
export function buildKustomization(directory: string): ManifestObject[] {
  const [kustomization] = readManifestDocuments(join(directory, "kustomization.yaml"));
  const parsed = KustomizationSchema.parse(kustomization);
  const objects = parsed.resources.flatMap((resource) => {
    const path = resolve(directory, resource);
    if (statSync(path).isDirectory()) return buildKustomization(path);
    return readManifestDocuments(path).map(
      (document) => ManifestObjectSchema.parse(document) as ManifestObject,
    );
  });
  const seen = new Set<string>();
  for (const object of objects) {
    const id = manifestObjectId(object);
    if (seen.has(id)) throw new Error(`${directory}: ${id} is declared twice`);
    seen.add(id);
  }
  for (const { name, count } of parsed.replicas ?? []) {
    const targets = objects.filter(
      (object) => SCALABLE_KINDS.has(object.kind) && object.metadata.name === name,
    );
    if (targets.length === 0) throw new Error(`${directory}: replicas names ${name}, which no workload is`);
    for (const target of targets) (target.spec as Record<string, unknown>).replicas = count;
  }
  return objects;
}

/** `Kind namespace/name`: what Kustomize and the API server tell objects apart by. */
export function manifestObjectId(object: ManifestObject): string {
  return `${object.kind} ${object.metadata.namespace ?? ""}/${object.metadata.name}`;
}
