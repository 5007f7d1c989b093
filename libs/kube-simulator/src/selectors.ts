import type { KubeObject } from "./kube-object.ts";

/**
 * Label and field selectors as the API server parses them, limited to what collectors and
 * kubectl send: label `k=v`, `k==v`, `k!=v`, `k`, `!k`; field `metadata.name` and
 * `metadata.namespace` with `=`, `==`, `!=`.
 */
export type Requirement =
  | { readonly op: "equals"; readonly key: string; readonly value: string }
  | { readonly op: "notEquals"; readonly key: string; readonly value: string }
  | { readonly op: "exists"; readonly key: string }
  | { readonly op: "notExists"; readonly key: string };

export class SelectorError extends Error {
  override readonly name = "SelectorError";
}

export const SUPPORTED_FIELDS = ["metadata.name", "metadata.namespace"] as const;

export function parseSelector(text: string | null, kind: "label" | "field"): Requirement[] {
  if (text === null || text.trim() === "") return [];
  return text.split(",").map((part) => parseRequirement(part.trim(), kind));
}

function parseRequirement(part: string, kind: "label" | "field"): Requirement {
  const match = /^([^=!]+?)\s*(==|!=|=)\s*(.*)$/.exec(part);
  if (match !== null) {
    const [, key = "", op, value = ""] = match;
    checkKey(key, kind);
    return { op: op === "!=" ? "notEquals" : "equals", key, value };
  }
  if (kind === "field") throw new SelectorError(`invalid field selector: "${part}"`);
  if (part.startsWith("!")) return { op: "notExists", key: checkKey(part.slice(1).trim(), kind) };
  return { op: "exists", key: checkKey(part, kind) };
}

function checkKey(key: string, kind: "label" | "field"): string {
  if (key === "" || /\s/.test(key)) throw new SelectorError(`invalid ${kind} selector key: "${key}"`);
  if (kind === "field" && !SUPPORTED_FIELDS.some((f) => f === key)) {
    // The real server answers unknown field labels with 400 "field label not supported".
    throw new SelectorError(`field label not supported: ${key}`);
  }
  return key;
}

export function matchesLabels(object: KubeObject, requirements: readonly Requirement[]): boolean {
  const labels = object.metadata.labels ?? {};
  return requirements.every((r) => matches(r, Object.hasOwn(labels, r.key) ? labels[r.key] : undefined));
}

export function matchesFields(object: KubeObject, requirements: readonly Requirement[]): boolean {
  return requirements.every((r) =>
    matches(r, r.key === "metadata.name" ? object.metadata.name : (object.metadata.namespace ?? "")),
  );
}

function matches(requirement: Requirement, actual: string | undefined): boolean {
  switch (requirement.op) {
    case "equals":
      return actual === requirement.value;
    case "notEquals":
      return actual !== requirement.value;
    case "exists":
      return actual !== undefined;
    case "notExists":
      return actual === undefined;
  }
}
