import type { ServerResponse } from "node:http";
import { joinApiVersion, type KubeObject } from "./kube-object.ts";
import { asServed, type ListQuery, matchesQuery } from "./list-query.ts";
import type { ObjectStore, StoredEvent } from "./object-store.ts";
import { groupKindKey, type ResourceDescriptor } from "./resource-catalog.ts";
import { expiredWatchStatus, type StatusBody } from "./status.ts";

export type WatchRequest = {
  readonly descriptor: ResourceDescriptor;
  readonly version: string;
  readonly query: ListQuery;
  /** `undefined` or `0`: start with synthetic ADDED events for the current state, as the server does. */
  readonly resourceVersion: number | undefined;
  readonly allowBookmarks: boolean;
  /** Seconds after which the server ends the stream; `undefined` = never. */
  readonly timeoutSeconds: number | undefined;
  /** Milliseconds between BOOKMARK events when bookmarks are allowed. */
  readonly bookmarkIntervalMs: number;
};

/** An open watch the simulator can end on demand (`dropWatches`). */
export type OpenWatch = {
  /** Ends the stream: `graceful` finishes the chunked body, otherwise the socket is destroyed. */
  close(mode: "graceful" | "abrupt"): void;
};

/** `object` is a served object, a Status (ERROR) or a bare resourceVersion holder (BOOKMARK). */
type WatchEvent = { readonly type: string; readonly object: KubeObject | StatusBody | BookmarkObject };
type BookmarkObject = { kind: string; apiVersion: string; metadata: { resourceVersion: string } };

/**
 * Streams `{"type":...,"object":...}` lines over a chunked 200 response. A resourceVersion
 * older than the retained history gets one ERROR event with a 410 `Expired` Status and the
 * stream ends — exactly what client-node's ListWatch treats as "relist".
 */
export function openWatch(
  store: ObjectStore,
  request: WatchRequest,
  response: ServerResponse,
  onClosed: (watch: OpenWatch) => void,
): OpenWatch {
  const { descriptor, version, query } = request;
  const groupKind = groupKindKey(descriptor.group, descriptor.kind);
  response.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache, private" });
  // Headers go out now: clients wait for them before reading events, and none may come soon.
  response.flushHeaders();

  const write = (event: WatchEvent): void => {
    response.write(`${JSON.stringify(event)}\n`);
  };
  const writeStored = (event: StoredEvent): void => {
    if (event.groupKind !== groupKind || !matchesQuery(event.object, query)) return;
    write({ type: event.type, object: asServed(event.object, descriptor, version) });
  };

  const timers: NodeJS.Timeout[] = [];
  let unsubscribe: () => void = () => {};
  let closed = false;
  const watch: OpenWatch = {
    close(mode) {
      if (closed) return;
      closed = true;
      unsubscribe();
      for (const timer of timers) clearTimeout(timer);
      if (mode === "graceful") response.end();
      else response.destroy();
      onClosed(watch);
    },
  };
  response.on("close", () => watch.close("graceful"));

  if (request.resourceVersion === undefined || request.resourceVersion === 0) {
    for (const object of store.list(descriptor)) {
      if (matchesQuery(object, query))
        write({ type: "ADDED", object: asServed(object, descriptor, version) });
    }
  } else {
    const since = store.eventsSince(request.resourceVersion, groupKind);
    if (since.expired) {
      write({ type: "ERROR", object: expiredWatchStatus(request.resourceVersion, since.oldestRetained) });
      watch.close("graceful");
      return watch;
    }
    for (const event of since.events) writeStored(event);
  }
  // Subscribing in the same tick as the replay means no change can fall between the two.
  unsubscribe = store.subscribe(writeStored);

  if (request.allowBookmarks) {
    const bookmark = (): void => {
      write({
        type: "BOOKMARK",
        object: {
          kind: descriptor.kind,
          apiVersion: joinApiVersion(descriptor.group, version),
          metadata: { resourceVersion: String(store.resourceVersion) },
        },
      });
    };
    timers.push(setInterval(bookmark, request.bookmarkIntervalMs).unref());
  }
  if (request.timeoutSeconds !== undefined && request.timeoutSeconds > 0) {
    timers.push(setTimeout(() => watch.close("graceful"), request.timeoutSeconds * 1000).unref());
  }
  return watch;
}
