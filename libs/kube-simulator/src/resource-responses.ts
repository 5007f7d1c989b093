import { joinApiVersion, type KubeObject } from "./kube-object.ts";
import { asServed, type ListQuery, matchesQuery, paginate, parseContinue } from "./list-query.ts";
import type { ObjectStore } from "./object-store.ts";
import type { ResourceDescriptor } from "./resource-catalog.ts";
import type { ResourcePath } from "./resource-path.ts";
import { expiredListStatus, notFoundStatus } from "./status.ts";

export type JsonResponse = { readonly status: number; readonly body: unknown };

export function getResponse(
  store: ObjectStore,
  descriptor: ResourceDescriptor,
  path: ResourcePath,
): JsonResponse {
  const name = path.name ?? "";
  const apiVersion = joinApiVersion(descriptor.group, path.version);
  const found = store.get({ apiVersion, kind: descriptor.kind, namespace: path.namespace, name });
  if (found === undefined)
    return { status: 404, body: notFoundStatus(descriptor.resource, descriptor.group, name) };
  return { status: 200, body: asServed(found, descriptor, path.version) };
}

export type ListOptions = {
  readonly resourceVersion: number | undefined;
  readonly limit: number | undefined;
  readonly continueToken: string | null;
};

/**
 * A `<Kind>List`. A resourceVersion, or a `continue` token whose list began at one, older than
 * the retained history is `410 Expired`, which is how the server answers an exact or paged list
 * it can no longer serve. Throws `InvalidContinueError` for a token it did not issue.
 */
export function listResponse(
  store: ObjectStore,
  descriptor: ResourceDescriptor,
  version: string,
  query: ListQuery,
  options: ListOptions,
): JsonResponse {
  if (options.resourceVersion !== undefined && options.resourceVersion !== 0) {
    if (options.resourceVersion < store.compactedThrough) return { status: 410, body: expiredListStatus() };
  }
  const from = parseContinue(options.continueToken);
  if (from !== undefined && from.resourceVersion < store.compactedThrough) {
    return { status: 410, body: expiredListStatus() };
  }
  const matching = store.list(descriptor).filter((o) => matchesQuery(o, query));
  const page = paginate(matching, options.limit, from, store.resourceVersion);
  return {
    status: 200,
    body: {
      kind: `${descriptor.kind}List`,
      apiVersion: joinApiVersion(descriptor.group, version),
      metadata: {
        resourceVersion: String(page.resourceVersion),
        ...(page.continueToken === undefined ? {} : { continue: page.continueToken }),
        ...(page.remainingItemCount === undefined ? {} : { remainingItemCount: page.remainingItemCount }),
      },
      items: page.items.map((o) => listItem(o, descriptor, version)),
    },
  };
}

/**
 * Built-in types are listed without `kind`/`apiVersion` on each item, as the real server does
 * (custom resources such as OpenShift's keep them). Consumers must not rely on item kinds.
 */
function listItem(object: KubeObject, descriptor: ResourceDescriptor, version: string): unknown {
  const served = asServed(object, descriptor, version);
  if (descriptor.onlyWhenGroupHasObjects) return served;
  const { apiVersion: _apiVersion, kind: _kind, ...rest } = served;
  return rest;
}
