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
  /** The list's resourceVersion: every page of one list carries the first page's, as the server's do. */
  readonly resourceVersion: number;
};

/**
 * Where a `continue` token resumes: after the key `after`, in the list begun at
 * `resourceVersion`. The real server's token also names that revision; once it is compacted,
 * the token is answered with `410 Expired`.
 */
export type ContinuePosition = { readonly after: string; readonly resourceVersion: number };

/**
 * `limit`/`continue` paging. The token names the last key served, so a page boundary stays
 * stable while objects are added; unlike the real server, later pages show the current state,
 * not the first page's snapshot (their resourceVersion is still the first page's, so a watch
 * from it replays whatever changed meanwhile).
 */
export function paginate(
  items: readonly KubeObject[],
  limit: number | undefined,
  from: ContinuePosition | undefined,
  currentResourceVersion: number,
): Page {
  const resourceVersion = from?.resourceVersion ?? currentResourceVersion;
  const start = from === undefined ? 0 : items.findIndex((o) => sortKey(o) > from.after);
  const rest = start < 0 ? [] : items.slice(start);
  if (limit === undefined || limit <= 0 || rest.length <= limit) {
    return { items: rest, continueToken: undefined, remainingItemCount: undefined, resourceVersion };
  }
  const page = rest.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page,
    continueToken: last === undefined ? undefined : encodeContinue({ after: sortKey(last), resourceVersion }),
    remainingItemCount: rest.length - limit,
    resourceVersion,
  };
}

function sortKey(object: KubeObject): string {
  return `${object.metadata.namespace ?? ""}/${object.metadata.name}`;
}

function encodeContinue(position: ContinuePosition): string {
  return Buffer.from(JSON.stringify(position), "utf8").toString("base64url");
}

export class InvalidContinueError extends Error {
  override readonly name = "InvalidContinueError";
}

/** `undefined` for an absent or empty token; throws `InvalidContinueError` for one it did not issue. */
export function parseContinue(token: string | null): ContinuePosition | undefined {
  if (token === null || token === "") return undefined;
  try {
    const decoded: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (
      typeof decoded === "object" &&
      decoded !== null &&
      "after" in decoded &&
      typeof decoded.after === "string" &&
      "resourceVersion" in decoded &&
      typeof decoded.resourceVersion === "number"
    ) {
      return { after: decoded.after, resourceVersion: decoded.resourceVersion };
    }
  } catch {
    // fall through to the error below: a malformed token is the client's fault
  }
  throw new InvalidContinueError(`invalid continue token: ${token}`);
}
