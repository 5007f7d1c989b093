import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as kubernetesModels from "@kubernetes/client-node";

/**
 * Checks Kubernetes objects against the API's own types, offline: the model classes of
 * @kubernetes/client-node are generated from the Kubernetes OpenAPI document (v1.34 for 1.4.0),
 * each with an `attributeTypeMap` (every field, its wire name and type) and a declaration file
 * in which the fields the API requires are the ones not marked optional. That is what
 * kubeconform would check from the same document, minus enum values and patterns.
 */

/** The API group/version of each kind the manifests may hold: a kind under another group is refused. */
const KINDS_BY_API_VERSION: Readonly<Record<string, readonly string[]>> = {
  v1: ["Namespace", "ConfigMap", "Secret", "Service", "ServiceAccount"],
  "apps/v1": ["Deployment", "StatefulSet"],
  "policy/v1": ["PodDisruptionBudget"],
  "rbac.authorization.k8s.io/v1": ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"],
  "networking.k8s.io/v1": ["NetworkPolicy"],
};

type Attribute = { name: string; baseName: string; type: string; format: string };
type ModelClass = { attributeTypeMap: Attribute[] };

const models = kubernetesModels as unknown as Record<string, unknown>;
const modelDirectory = join(
  dirname(createRequire(import.meta.url).resolve("@kubernetes/client-node")),
  "gen",
  "models",
);

function modelClass(typeName: string): ModelClass | null {
  const candidate = models[typeName];
  if (typeof candidate !== "function" || !("attributeTypeMap" in candidate)) return null;
  return candidate as unknown as ModelClass;
}

const requiredFieldsCache = new Map<string, ReadonlySet<string>>();

/** The wire names the model declares without `?` (`'containers': Array<V1Container>;`). */
function requiredFields(typeName: string): ReadonlySet<string> {
  const cached = requiredFieldsCache.get(typeName);
  if (cached) return cached;
  const declaration = readFileSync(join(modelDirectory, `${typeName}.d.ts`), "utf8");
  const required = new Set([...declaration.matchAll(/^\s+'([^']+)': /gm)].map((match) => match[1] as string));
  requiredFieldsCache.set(typeName, required);
  return required;
}

/** The model class name of `apiVersion` + `kind` (`apps/v1` Deployment → `V1Deployment`), or a problem. */
function modelNameForKind(apiVersion: unknown, kind: unknown): string | { problem: string } {
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    return { problem: "apiVersion and kind must be strings" };
  }
  if (!KINDS_BY_API_VERSION[apiVersion]?.includes(kind)) {
    return { problem: `no schema for ${apiVersion} ${kind}` };
  }
  const version = apiVersion.split("/").at(-1) as string;
  return `${version[0]?.toUpperCase()}${version.slice(1)}${kind}`;
}

/**
 * Every problem of `object` as the Kubernetes API would see it: unknown fields, wrong types,
 * missing required fields; each names its path (`spec.template.spec.containers[0].env[2].name`).
 * Empty when the object is valid.
 */
export function kubernetesObjectProblems(object: unknown): string[] {
  if (!isRecord(object)) return ["the document is not an object"];
  const modelName = modelNameForKind(object.apiVersion, object.kind);
  if (typeof modelName !== "string") return [modelName.problem];
  const problems: string[] = [];
  checkValue(object, modelName, "", problems);
  return problems;
}

function checkValue(value: unknown, type: string, path: string, problems: string[]): void {
  const where = path === "" ? "(root)" : path;
  const arrayOf = /^Array<(.+)>$/.exec(type);
  if (arrayOf) {
    if (!Array.isArray(value)) return void problems.push(`${where}: expected an array`);
    value.forEach((item, index) => {
      checkValue(item, arrayOf[1] as string, `${path}[${index}]`, problems);
    });
    return;
  }
  const mapOf = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (mapOf) {
    if (!isRecord(value)) return void problems.push(`${where}: expected an object`);
    for (const [key, item] of Object.entries(value))
      checkValue(item, mapOf[1] as string, `${path}.${key}`, problems);
    return;
  }
  const problem = scalarProblem(value, type);
  if (problem !== undefined) {
    if (problem !== null) problems.push(`${where}: ${problem}`);
    return;
  }
  const model = modelClass(type);
  if (!model) return void problems.push(`${where}: unknown type ${type}`);
  if (!isRecord(value)) return void problems.push(`${where}: expected an object (${type})`);
  checkObject(value, type, model, path, problems);
}

function checkObject(
  value: Record<string, unknown>,
  type: string,
  model: ModelClass,
  path: string,
  problems: string[],
): void {
  const attributes = new Map(model.attributeTypeMap.map((attribute) => [attribute.baseName, attribute]));
  const prefix = path === "" ? "" : `${path}.`;
  for (const [field, item] of Object.entries(value)) {
    const attribute = attributes.get(field);
    if (!attribute) {
      problems.push(`${prefix}${field}: unknown field in ${type}`);
      continue;
    }
    // null is how YAML writes "unset"; the API server treats it so.
    if (item === null) continue;
    checkValue(item, attribute.type, `${prefix}${field}`, problems);
    if (attribute.format === "int32" || attribute.format === "int64") {
      if (typeof item === "number" && !Number.isInteger(item))
        problems.push(`${prefix}${field}: expected an integer`);
    }
  }
  for (const field of requiredFields(type)) {
    if (value[field] === undefined || value[field] === null)
      problems.push(`${prefix}${field}: required in ${type}`);
  }
}

/** undefined: not a scalar type; null: a valid scalar; a string: the problem. */
function scalarProblem(value: unknown, type: string): string | null | undefined {
  switch (type) {
    case "string":
    case "Date":
    case "V1MicroTime":
      return typeof value === "string" ? null : "expected a string";
    case "number":
      return typeof value === "number" ? null : "expected a number";
    case "boolean":
      return typeof value === "boolean" ? null : "expected a boolean";
    case "IntOrString":
      return typeof value === "string" || Number.isInteger(value) ? null : "expected an integer or a string";
    case "any":
    case "object":
      return null;
    default:
      return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
