import { backoffDelayMs } from "@kasmap/bus";
import type { WatchedCollection } from "@kasmap/cluster-info";
import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  KubernetesObjectApi,
  Watch,
} from "@kubernetes/client-node";
import { classifySourceFailure } from "./source-failure.ts";

/** What the collector knows about one watched resource. */
export type SourceState<T> =
  | { state: "pending" }
  | { state: "ok"; items: ReadonlyMap<string, T> }
  | { state: "forbidden"; message: string }
  | { state: "not-found" }
  /** No answer yet: the server was not reached, or answered with nothing usable. */
  | { state: "unreachable"; message: string }
  | { state: "error"; message: string };

/** One watched collection (declared with the cluster sources), named and projected. */
export type ResourceSpec<T> = WatchedCollection & {
  /** Name used in logs and metrics, e.g. `nodes`. */
  name: string;
  /**
   * Keeps only what derivation needs. A 5,000-node cluster's full Node objects weigh hundreds
   * of megabytes (images lists, conditions); the projected ones a few.
   */
  project(object: KubernetesObject): T | null;
};

export type ResourceWatcherTiming = {
  /**
   * How long to wait before asking again after a `403` or `404` (milliseconds, default 60,000):
   * RBAC may be granted, or a CRD installed, later; these are settled answers, not outages.
   */
  recheckMissingMs?: number;
  /** Told of lists and watches opened again, by source name (`nodes`, …), for metrics. */
  counters?: WatchCounters;
};

export type WatchCounters = {
  /** A list after the source's first one: a `410 Gone`, a failure, or a recheck after 403/404. */
  relisted(source: string): void;
  /** A watch reopened from its last `resourceVersion` after the server ended it. */
  watchRestarted(source: string): void;
};

/**
 * Objects per list request (`limit`). The client reads, parses and types a whole response before
 * the collector projects it, so one page of full objects is the transient cost. Measured with
 * bench/collector.bench.ts at 5,000 realistic Nodes (~10 KiB of JSON each): unpaged, RSS rose
 * ~180 MiB; pages of 500 (client-go's size) still ~80-125 MiB; pages of 100 ~30 MiB, at the
 * price of 50 requests instead of 1.
 */
export const LIST_PAGE_SIZE = 100;

function keyOf(object: KubernetesObject): string {
  return `${object.metadata?.namespace ?? ""}/${object.metadata?.name ?? ""}`;
}

/**
 * List-then-watch for one resource, the way an informer does it, but storing projections.
 * - `410 Gone` (history compacted) or a dropped connection: relist, then watch again.
 * - `403`: reported as `forbidden`, retried slowly (RBAC may be granted later).
 * - `404`: the API does not exist here (e.g. OpenShift kinds on vanilla clusters): `not-found`.
 * - anything else before the first answer: `unreachable` or `error` with the error text (see
 *   `classifySourceFailure`), retried with backoff; after an answer the last items stay.
 * Every state change calls `onChange`; callers coalesce.
 */
export class ResourceWatcher<T> {
  private state: SourceState<T> = { state: "pending" };
  private items = new Map<string, T>();
  private resourceVersion: string | undefined;
  /**
   * The revision `items` are current at: the list's, then each applied event's or bookmark's.
   * Unlike `resourceVersion` it is not cleared when a `410 Gone` starts a relist, since the old
   * items stay until the new list replaces them.
   */
  private itemsVersion: string | undefined;
  private abort: AbortController | null = null;
  private stopped = false;
  private failures = 0;
  /** Watches in a row the server ended cleanly without sending anything. */
  private emptyWatches = 0;
  private timer: NodeJS.Timeout | null = null;
  private listedBefore = false;

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly spec: ResourceSpec<T>,
    private readonly onChange: () => void,
    private readonly onProblem: (message: string) => void = () => {},
    private readonly timing: ResourceWatcherTiming = {},
  ) {}

  get current(): SourceState<T> {
    return this.state;
  }

  /**
   * The `resourceVersion` the current items are known to be up to date at, while the source is
   * `ok`; undefined otherwise. Two replicas watching one cluster compare these (same resource,
   * comparable revisions: KEP-5504) to tell whose view is newer.
   */
  get observedVersion(): string | undefined {
    return this.state.state === "ok" ? this.itemsVersion : undefined;
  }

  start(): void {
    this.stopped = false;
    void this.listAndWatch();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort?.abort();
  }

  private setState(next: SourceState<T>): void {
    this.state = next;
    this.onChange();
  }

  private async listAndWatch(): Promise<void> {
    if (this.stopped) return;
    if (this.listedBefore) this.timing.counters?.relisted(this.spec.name);
    this.listedBefore = true;
    try {
      const listed = await this.listInPages();
      if (this.stopped) return;
      this.items = listed.items;
      this.resourceVersion = listed.resourceVersion;
      this.itemsVersion = listed.resourceVersion;
      this.failures = 0;
      this.setState({ state: "ok", items: this.items });
      await this.watch();
    } catch (error) {
      this.handleFailure(error);
    }
  }

  /**
   * Lists with `limit` and `continue`, projecting each page as it arrives, so only one page of
   * full objects is held at a time. Every page of one list carries the revision the list was
   * taken at, which the watch resumes from. A token whose revision was compacted meanwhile is
   * answered `410 Gone`: thrown, and `handleFailure` starts the list over.
   */
  private async listInPages(): Promise<{ items: Map<string, T>; resourceVersion: string | undefined }> {
    const api = KubernetesObjectApi.makeApiClient(this.kubeConfig);
    const items = new Map<string, T>();
    let resourceVersion: string | undefined;
    let continueToken: string | undefined;
    do {
      const page = await api.list(
        this.spec.apiVersion,
        this.spec.kind,
        this.spec.namespace,
        undefined,
        undefined,
        undefined,
        this.spec.fieldSelector,
        this.spec.labelSelector,
        LIST_PAGE_SIZE,
        continueToken,
      );
      for (const item of page.items) this.apply(items, "ADDED", item);
      resourceVersion = page.metadata?.resourceVersion;
      continueToken = continueTokenOf(page);
    } while (continueToken !== undefined && !this.stopped);
    return { items, resourceVersion };
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    const query: Record<string, string | number | boolean | undefined> = {
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: true,
      // The server ends the watch after this; we resume from the last resourceVersion.
      timeoutSeconds: 300,
      fieldSelector: this.spec.fieldSelector,
      labelSelector: this.spec.labelSelector,
    };
    let gone = false;
    let received = false;
    this.abort = await new Watch(this.kubeConfig).watch(
      this.spec.path,
      query,
      (phase, object: KubernetesObject & { code?: number; reason?: string }) => {
        received = true;
        if (phase === "ERROR") {
          gone = object.code === 410;
          if (!gone)
            this.onProblem(`${this.spec.name}: watch error ${object.code ?? ""} ${object.reason ?? ""}`);
          return;
        }
        const version = object?.metadata?.resourceVersion;
        if (version) {
          this.resourceVersion = version;
          this.itemsVersion = version;
        }
        if (phase === "BOOKMARK") return;
        if (this.apply(this.items, phase, object)) this.setState({ state: "ok", items: this.items });
      },
      (error: unknown) => {
        if (this.stopped) return;
        if (error) return this.handleFailure(error);
        // A clean end: resume from where we were, or relist when the server said 410.
        if (gone) {
          this.resourceVersion = undefined;
          void this.listAndWatch();
          return;
        }
        // A watch that ran its course (events, bookmarks) is reopened at once; one the server
        // keeps closing without a word (a proxy idling it out, an overloaded server shedding
        // watches) is reopened after a growing delay rather than in a tight loop.
        this.emptyWatches = received ? 0 : this.emptyWatches + 1;
        const delay = this.emptyWatches === 0 ? 0 : backoffDelayMs(this.emptyWatches, 250, 15_000);
        this.timing.counters?.watchRestarted(this.spec.name);
        this.timer = setTimeout(() => void this.watch().catch((e: unknown) => this.handleFailure(e)), delay);
      },
    );
  }

  /** Applies one event to a projected cache; returns whether anything changed. */
  private apply(items: Map<string, T>, phase: string, object: KubernetesObject): boolean {
    const key = keyOf(object);
    if (phase === "DELETED") return items.delete(key);
    const projected = this.spec.project(object);
    if (projected === null) {
      this.onProblem(`${this.spec.name}: rejected malformed object ${key}`);
      return items.delete(key);
    }
    items.set(key, projected);
    return true;
  }

  private handleFailure(error: unknown): void {
    if (this.stopped) return;
    const failure = classifySourceFailure(error);
    this.failures++;
    if (failure.kind === "forbidden") {
      this.setState({ state: "forbidden", message: failure.message });
    } else if (failure.kind === "not-found") {
      this.setState({ state: "not-found" });
    } else if (failure.kind === "gone") {
      this.resourceVersion = undefined;
    } else {
      this.onProblem(`${this.spec.name}: ${failure.kind}: ${failure.message}`);
      // Only a source that never answered reports the failure; one that did keeps its items.
      const current = this.state;
      const neverAnswered =
        current.state === "pending" || current.state === "unreachable" || current.state === "error";
      const changed =
        neverAnswered && (current.state !== failure.kind || current.message !== failure.message);
      if (changed) this.setState({ state: failure.kind, message: failure.message });
    }
    // Forbidden and not-found are settled answers: look again rarely. Errors: back off fast.
    const settled = failure.kind === "forbidden" || failure.kind === "not-found";
    const delay = settled
      ? (this.timing.recheckMissingMs ?? 60_000)
      : failure.kind === "gone"
        ? 0
        : backoffDelayMs(this.failures, 250, 15_000);
    this.timer = setTimeout(() => void this.listAndWatch(), delay);
  }
}

/**
 * `metadata.continue` of a list page, or undefined on the last page. Typed lists (`V1NodeList`)
 * come back from the client with it renamed `_continue`; lists of kinds it has no model for
 * (OpenShift's) keep the wire name.
 */
function continueTokenOf(list: KubernetesListObject<KubernetesObject>): string | undefined {
  const metadata = list.metadata as { _continue?: string; continue?: string } | undefined;
  const token = metadata?._continue ?? metadata?.continue;
  return token === undefined || token === "" ? undefined : token;
}
