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
import { classifySourceFailure } from "./source-failure.ts";

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
    if (!answered(this.version.state)) return false;
    return [...this.watchers.values()].every((w) => answered(w.current.state));
  }

  /**
   * Per watched source with data, the `resourceVersion` its items are current at: how new this
   * view of the cluster is, taken together with an {@link observation} in the same tick.
   */
  observedVersions(): Record<string, string> {
    const versions: Record<string, string> = {};
    for (const [key, watcher] of this.watchers) {
      const version = watcher.observedVersion;
      if (version !== undefined) versions[key] = version;
    }
    return versions;
  }

  /** Names of sources that have not answered yet, for the log. */
  get unsettled(): string[] {
    const watched = WATCHED_SOURCE_KEYS.filter((name) => !answered(this.state(name).state));
    return answered(this.version.state) ? watched : [...watched, "version"];
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
      version: this.version.state === "pending" ? NO_ANSWER_YET : this.version,
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
   * A source that has not answered yet (the first snapshot was forced by the settle timeout) is
   * `unreachable`, never `not-found`: nothing said it does not exist.
   */
  private list(name: WatchedSourceKey): Access<readonly unknown[]> {
    const s = this.state(name);
    if (s.state === "ok") return { state: "ok", value: [...s.items.values()] };
    return notOk(s);
  }

  private single(name: WatchedSourceKey): Access<unknown> {
    const s = this.state(name);
    if (s.state === "ok") {
      const first = s.items.values().next();
      return first.done ? { state: "not-found" } : { state: "ok", value: first.value };
    }
    return notOk(s);
  }

  private async refreshVersion(): Promise<void> {
    let next: Settled<unknown>;
    try {
      const info = await this.kubeConfig.makeApiClient(VersionApi).getCode();
      next = { state: "ok", value: info };
    } catch (error) {
      const failure = classifySourceFailure(error);
      if (failure.kind === "forbidden") next = { state: "forbidden" };
      else if (failure.kind === "not-found") next = { state: "not-found" };
      else if (failure.kind === "unreachable" || failure.kind === "error") {
        this.onProblem(`/version: ${failure.kind}: ${failure.message}`);
        // An earlier answer stays: /version is polled, one failed poll is no news.
        next = answered(this.version.state)
          ? this.version
          : { state: failure.kind, message: failure.message };
      } else next = this.version;
    }
    const changed = JSON.stringify(next) !== JSON.stringify(this.version);
    this.version = next;
    if (changed) this.onChange();
    this.versionTimer = setTimeout(
      () => void this.refreshVersion(),
      answered(this.version.state) ? VERSION_REFRESH_MS : 2_000,
    );
  }
}

/** ok, forbidden and not-found are answers; pending, unreachable and error are not. */
function answered(state: Settled<unknown>["state"] | SourceState<unknown>["state"]): boolean {
  return state === "ok" || state === "forbidden" || state === "not-found";
}

const NO_ANSWER_YET: Access<never> = { state: "unreachable", message: "no answer yet" };

function notOk(s: Exclude<SourceState<unknown>, { state: "ok" }>): Access<never> {
  if (s.state === "forbidden") return { state: "forbidden" };
  if (s.state === "not-found") return { state: "not-found" };
  if (s.state === "pending") return NO_ANSWER_YET;
  return { state: s.state, message: s.message };
}
