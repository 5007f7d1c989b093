import type { IncomingMessage, ServerResponse } from "node:http";
import {
  apiGroupBody,
  apiGroupListBody,
  apiResourceListBody,
  apiVersionsBody,
  type ServedResources,
  type VersionInfo,
} from "./discovery.ts";
import { InvalidContinueError, parseListQuery, selectedName } from "./list-query.ts";
import type { ObjectStore } from "./object-store.ts";
import { type AccessRule, forbiddenMessage, isAllowed } from "./rbac.ts";
import { findResourceByPath } from "./resource-catalog.ts";
import { parseResourcePath, type ResourcePath } from "./resource-path.ts";
import { getResponse, listResponse } from "./resource-responses.ts";
import { SelectorError } from "./selectors.ts";
import { badRequestStatus, failureStatus, methodNotAllowedStatus, unauthorizedStatus } from "./status.ts";
import { type OpenWatch, openWatch } from "./watch-stream.ts";

export type HandlerContext = {
  readonly store: ObjectStore;
  readonly versionInfo: VersionInfo;
  /** Bearer token → user name; `undefined` = no authentication, every caller is `anonymousUser`. */
  readonly bearerTokens: Readonly<Record<string, string>> | undefined;
  readonly anonymousUser: string;
  readonly rules: readonly AccessRule[] | undefined;
  readonly served: ServedResources;
  readonly bookmarkIntervalMs: number;
  readonly serverAddress: () => string;
  readonly watches: Set<OpenWatch>;
  readonly onRequest: (entry: RequestLogEntry) => void;
  /** An injected failure for this path (a broken API server or proxy), or undefined. */
  readonly faultFor: (path: string) => InjectedFault | undefined;
};

/** What the simulator answers instead of serving a path: a status and a raw body. */
export type InjectedFault = { readonly status: number; readonly body: string; readonly contentType: string };

/** What tests can inspect to see how clients talked to the simulator. */
export type RequestLogEntry = {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly verb: "get" | "list" | "watch" | "discovery";
  /** HTTP status; for a watch that was answered with an ERROR event, the event's code (410). */
  readonly status: number;
};

export function handleRequest(
  context: HandlerContext,
  request: IncomingMessage,
  response: ServerResponse,
): void {
  const url = new URL(request.url ?? "/", "http://simulator.invalid");
  const log = (verb: RequestLogEntry["verb"], status: number): void =>
    context.onRequest({
      method: request.method ?? "GET",
      path: url.pathname,
      query: url.search,
      verb,
      status,
    });

  const fault = context.faultFor(url.pathname);
  if (fault !== undefined) {
    log("discovery", fault.status);
    response.writeHead(fault.status, { "content-type": fault.contentType });
    response.end(fault.body);
    return;
  }
  const user = authenticate(context, request.headers.authorization);
  if (user === undefined) {
    log("discovery", 401);
    sendJson(response, 401, unauthorizedStatus());
    return;
  }
  if (request.method !== "GET" && request.method !== "HEAD") {
    log("discovery", 405);
    sendJson(response, 405, methodNotAllowedStatus());
    return;
  }
  const discovery = discoveryBody(context, url.pathname);
  if (discovery !== undefined) {
    log("discovery", 200);
    sendJson(response, 200, discovery);
    return;
  }
  const path = parseResourcePath(url.pathname);
  const descriptor = path && findResourceByPath(path.group, path.version, path.resource);
  if (path === undefined || descriptor === undefined || !context.served(descriptor, path.version)) {
    log("discovery", 404);
    sendNotFoundPage(response);
    return;
  }
  handleResource(context, { path, descriptor, params: url.searchParams, user }, response, log);
}

type ResourceRequest = {
  readonly path: ResourcePath;
  readonly descriptor: NonNullable<ReturnType<typeof findResourceByPath>>;
  readonly params: URLSearchParams;
  readonly user: string;
};

function handleResource(
  context: HandlerContext,
  { path, descriptor, params, user }: ResourceRequest,
  response: ServerResponse,
  log: (verb: RequestLogEntry["verb"], status: number) => void,
): void {
  const verb = path.name !== undefined ? "get" : params.get("watch") === "true" ? "watch" : "list";
  if (path.namespace !== undefined && !descriptor.namespaced) {
    log(verb, 404);
    sendNotFoundPage(response);
    return;
  }
  let query: ReturnType<typeof parseListQuery>;
  try {
    query = parseListQuery(params, path.namespace);
  } catch (error) {
    if (!(error instanceof SelectorError)) throw error;
    log(verb, 400);
    sendJson(response, 400, badRequestStatus(error.message));
    return;
  }
  const access = {
    user,
    verb,
    resource: descriptor.resource,
    apiGroup: descriptor.group,
    namespace: path.namespace,
    name: path.name ?? selectedName(query),
  };
  if (!isAllowed(context.rules, access)) {
    log(verb, 403);
    const details = {
      group: descriptor.group,
      kind: descriptor.resource,
      ...(path.name ? { name: path.name } : {}),
    };
    sendJson(response, 403, failureStatus(403, "Forbidden", forbiddenMessage(access), details));
    return;
  }
  const resourceVersion = parseResourceVersion(params.get("resourceVersion"));
  if (resourceVersion === "invalid") {
    log(verb, 400);
    sendJson(response, 400, badRequestStatus(`invalid resourceVersion: ${params.get("resourceVersion")}`));
    return;
  }
  if (verb === "watch") {
    const watch = openWatch(
      context.store,
      {
        descriptor,
        version: path.version,
        query,
        resourceVersion,
        allowBookmarks: params.get("allowWatchBookmarks") === "true",
        timeoutSeconds: optionalInteger(params.get("timeoutSeconds")),
        bookmarkIntervalMs: context.bookmarkIntervalMs,
      },
      response,
      (closed) => context.watches.delete(closed),
    );
    const expired =
      resourceVersion !== undefined &&
      resourceVersion !== 0 &&
      resourceVersion < context.store.compactedThrough;
    log("watch", expired ? 410 : 200);
    if (!expired) context.watches.add(watch);
    return;
  }
  try {
    const result =
      verb === "get"
        ? getResponse(context.store, descriptor, path)
        : listResponse(context.store, descriptor, path.version, query, {
            resourceVersion,
            limit: optionalInteger(params.get("limit")),
            continueToken: params.get("continue"),
          });
    log(verb, result.status);
    sendJson(response, result.status, result.body);
  } catch (error) {
    if (!(error instanceof InvalidContinueError)) throw error;
    log(verb, 400);
    sendJson(response, 400, badRequestStatus(error.message));
  }
}

function authenticate(context: HandlerContext, header: string | undefined): string | undefined {
  if (context.bearerTokens === undefined) return context.anonymousUser;
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  const token = match?.[1];
  return token !== undefined && Object.hasOwn(context.bearerTokens, token)
    ? context.bearerTokens[token]
    : undefined;
}

function discoveryBody(context: HandlerContext, pathname: string): unknown | undefined {
  const path = pathname.replace(/\/+$/, "");
  if (path === "/version") return context.versionInfo;
  if (path === "/healthz" || path === "/readyz" || path === "/livez") return "ok";
  if (path === "/api") return apiVersionsBody(context.serverAddress());
  if (path === "/apis") return apiGroupListBody(context.served);
  const segments = path.split("/").filter((s) => s !== "");
  if (segments[0] === "api" && segments.length === 2) {
    return apiResourceListBody(context.served, "", segments[1] ?? "");
  }
  if (segments[0] === "apis" && segments.length === 2) return apiGroupBody(context.served, segments[1] ?? "");
  if (segments[0] === "apis" && segments.length === 3) {
    return apiResourceListBody(context.served, segments[1] ?? "", segments[2] ?? "");
  }
  return undefined;
}

/** `undefined` for absent or empty; `"invalid"` for anything that is not a non-negative integer. */
function parseResourceVersion(value: string | null): number | undefined | "invalid" {
  if (value === null || value === "") return undefined;
  return /^\d+$/.test(value) ? Number(value) : "invalid";
}

function optionalInteger(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  response.writeHead(status, {
    "Content-Type": typeof body === "string" ? "text/plain; charset=utf-8" : "application/json",
    "Content-Length": Buffer.byteLength(text),
  });
  response.end(text);
}

/** What the real server answers for a group or resource it does not know: plain text, not a Status. */
function sendNotFoundPage(response: ServerResponse): void {
  sendJson(response, 404, "404 page not found\n");
}
