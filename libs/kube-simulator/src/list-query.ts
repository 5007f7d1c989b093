import { joinApiVersion, type KubeObject } from "./kube-object.ts";
import type { ResourceDescriptor } from "./resource-catalog.ts";
import { matchesFields, matchesLabels, parseSelector, type Requirement } from "./selectors.ts";

/** The query parameters list and watch share, parsed once at the edge. */
export type ListQuery = {
  readonly namespace: string | undefined;
  readonly labels: readonly Requirement[];
  readonly fields: readonly Requirement[];
};

/** Throws `SelectorError` for selectors the server would answer with 400. */
export function parseListQuery(params: URLSearchParams, namespace: string | undefined): ListQuery {
  return {
    namespace,
    labels: parseSelector(params.get("labelSelector"), "label"),
    fields: parseSelector(params.get("fieldSelector"), "field"),
  };
}

export function matchesQuery(object: KubeObject, query: ListQuery): boolean {
  if (query.namespace !== undefined && object.metadata.namespace !== query.namespace) return false;
  return matchesLabels(object, query.labels) && matchesFields(object, query.fields);
}

/** The object name a query is narrowed to (`fieldSelector=metadata.name=X`), which RBAC resourceNames honour. */
export function selectedName(query: ListQuery): string | undefined {
  const byName = query.fields.find((r) => r.op === "equals" && r.key === "metadata.name");
  return byName?.op === "equals" ? byName.value : undefined;
}

/**
 * Objects as served at one version: `apiVersion` becomes the requested version, since the
 * store keeps one copy per group and kind.
 */
export function asServed(object: KubeObject, descriptor: ResourceDescriptor, version: string): KubeObject {
  return { ...object, apiVersion: joinApiVersion(descriptor.group, version), kind: descriptor.kind };
}

export type Page = {
  readonly items: readonly KubeObject[];
  readonly continueToken: string | undefined;
  readonly remainingItemCount: number | undefined;
};

/**
 * `limit`/`continue` paging. The token names the last key served, so a page boundary stays
 * stable while objects are added; unlike the real server, later pages show the current state,
 * not the first page's snapshot.
 */
export function paginate(
  items: readonly KubeObject[],
  limit: number | undefined,
  continueToken: string | null,
): Page {
  const after = continueToken === null || continueToken === "" ? undefined : decodeContinue(continueToken);
  const start = after === undefined ? 0 : items.findIndex((o) => sortKey(o) > after);
  const rest = start < 0 ? [] : items.slice(start);
  if (limit === undefined || limit <= 0 || rest.length <= limit) {
    return { items: rest, continueToken: undefined, remainingItemCount: undefined };
  }
  const page = rest.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page,
    continueToken: last === undefined ? undefined : encodeContinue(sortKey(last)),
    remainingItemCount: rest.length - limit,
  };
}

function sortKey(object: KubeObject): string {
  return `${object.metadata.namespace ?? ""}/${object.metadata.name}`;
}

function encodeContinue(key: string): string {
  return Buffer.from(JSON.stringify({ after: key }), "utf8").toString("base64url");
}

export class InvalidContinueError extends Error {
  override readonly name = "InvalidContinueError";
}

function decodeContinue(token: string): string {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (
      typeof decoded === "object" &&
      decoded !== null &&
      "after" in decoded &&
      typeof decoded.after === "string"
    ) {
      return decoded.after;
    }
  } catch {
    // fall through to the error below: a malformed token is the client's fault
  }
  throw new InvalidContinueError(`invalid continue token: ${token}`);
}
