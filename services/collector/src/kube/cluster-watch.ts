import {
  type Access,
  CLUSTER_SOURCES,
  type ClusterConfiguration,
  type ClusterObservation,
  type CollectorConnection,
  type DownwardApi,
  type ObservedSources,
  WATCHED_SOURCE_KEYS,
  type WatchedSourceKey,
} from "@kasmap/cluster-info";
import { type KubeConfig, type KubernetesObject, VersionApi } from "@kubernetes/client-node";
import { resourceSpecFor } from "./cluster-sources.ts";
import { ResourceWatcher, type ResourceWatcherTiming, type SourceState } from "./resource-watcher.ts";

const VERSION_REFRESH_MS = 10 * 60_000;

type Settled<T> = Access<T> | { state: "pending" };

/**
 * Watches every source of cluster facts and turns their current states into a
 * `ClusterObservation`. Nothing here derives: that is the pure `deriveClusterFacts`.
 */
export class ClusterWatch {
  private readonly watchers = new Map<WatchedSourceKey, ResourceWatcher<KubernetesObject>>();
  private version: Settled<unknown> = { state: "pending" };
  private versionTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly onChange: () => void,
    private readonly onProblem: (message: string) => void,
    timing: ResourceWatcherTiming = {},
  ) {
    for (const key of WATCHED_SOURCE_KEYS) {
      this.watchers.set(
        key,
        new ResourceWatcher(kubeConfig, resourceSpecFor(key), onChange, onProblem, timing),
      );
    }
  }

  start(): void {
    for (const watcher of this.watchers.values()) watcher.start();
    void this.refreshVersion();
  }

  stop(): void {
    for (const watcher of this.watchers.values()) watcher.stop();
    if (this.versionTimer) clearTimeout(this.versionTimer);
  }

  /** True once every source has answered at least once (with data, 403 or 404). */
  get settled(): boolean {
    if (this.version.state === "pending") return false;
    return [...this.watchers.values()].every(
      (w) => w.current.state !== "pending" && w.current.state !== "error",
    );
  }

  /** Names of sources that have not answered yet, for the log. */
  get unsettled(): string[] {
    return WATCHED_SOURCE_KEYS.filter((name) => {
      const s = this.watchers.get(name)?.current.state;
      return s === "pending" || s === "error";
    });
  }

  observation(context: {
    connection: CollectorConnection;
    downward: DownwardApi;
    configured: ClusterConfiguration;
    resolvedApiEndpointIps?: readonly string[];
  }): ClusterObservation {
    const watched: Partial<Record<WatchedSourceKey, Access<unknown>>> = {};
    for (const key of WATCHED_SOURCE_KEYS) {
      watched[key] = CLUSTER_SOURCES[key].shape === "list" ? this.list(key) : this.single(key);
    }
    return {
      ...(watched as Pick<ObservedSources, WatchedSourceKey>),
      version: this.version.state === "pending" ? { state: "not-found" } : this.version,
      connection: context.connection,
      downward: context.downward,
      configured: context.configured,
      ...(context.resolvedApiEndpointIps ? { resolvedApiEndpointIps: context.resolvedApiEndpointIps } : {}),
    };
  }

  private state(name: WatchedSourceKey): SourceState<KubernetesObject> {
    return this.watchers.get(name)?.current ?? { state: "pending" };
  }

  /**
   * A source that has not answered (still pending, or failing with a network error) is
   * reported as not-found only in the rare case the first snapshot is forced before it
   * settles; the log names it.
   */
  private list(name: WatchedSourceKey): Access<readonly unknown[]> {
    const s = this.state(name);
    if (s.state === "ok") return { state: "ok", value: [...s.items.values()] };
    if (s.state === "forbidden") return { state: "forbidden" };
    return { state: "not-found" };
  }

  private single(name: WatchedSourceKey): Access<unknown> {
    const s = this.state(name);
    if (s.state === "ok") {
      const first = s.items.values().next();
      return first.done ? { state: "not-found" } : { state: "ok", value: first.value };
    }
    if (s.state === "forbidden") return { state: "forbidden" };
    return { state: "not-found" };
  }

  private async refreshVersion(): Promise<void> {
    try {
      const info = await this.kubeConfig.makeApiClient(VersionApi).getCode();
      const next: Access<unknown> = { state: "ok", value: info };
      const changed = JSON.stringify(next) !== JSON.stringify(this.version);
      this.version = next;
      if (changed) this.onChange();
    } catch (error) {
      const status = (error as { code?: number }).code;
      if (status === 403) this.version = { state: "forbidden" };
      else if (status === 404) this.version = { state: "not-found" };
      else this.onProblem(`/version: ${String(error)}`);
      if (status === 403 || status === 404) this.onChange();
    }
    this.versionTimer = setTimeout(
      () => void this.refreshVersion(),
      this.version.state === "pending" ? 2_000 : VERSION_REFRESH_MS,
    );
  }
}
