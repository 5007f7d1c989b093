import { randomUUID } from "node:crypto";
import {
  type ClusterConfiguration,
  type CollectorConnection,
  clusterFactsContentHash,
  type DerivationDiagnostics,
  type DownwardApi,
  deriveClusterFactsWithDiagnostics,
  NodeScanMemo,
  unansweredEssentialSources,
} from "@kasmap/cluster-info";
import type { ClusterFacts } from "@kasmap/contracts";
import type { Logger } from "@kasmap/logging";
import type { KubeConfig } from "@kubernetes/client-node";
import { ApiEndpointResolver } from "./api-endpoint-resolver.ts";
import {
  type CollectorCycleEffect,
  type CollectorCycleEvent,
  INITIAL_COLLECTOR_CYCLE,
  nextCollectorCycle,
} from "./collector-cycle.ts";
import type { CollectorIdentity } from "./collector-identity.ts";
import type { CollectorMetrics } from "./collector-metrics.ts";
import { ClusterWatch } from "./kube/cluster-watch.ts";
import type { ObservedVersions } from "./observed-versions.ts";
import { DEFAULT_BEHIND_GRACE_MS, SnapshotPublisher, type SnapshotTarget } from "./snapshot-publisher.ts";

export type CollectorOptions = {
  kubeConfig: KubeConfig;
  connection: CollectorConnection;
  downward: DownwardApi;
  configured: ClusterConfiguration;
  /** Changes within this window become one snapshot (milliseconds). */
  coalesceMs: number;
  heartbeatMs: number;
  logger: Logger;
  /** Who this process is (`collector_id`, pod, node, version); absent: a random id, nothing else. */
  identity?: CollectorIdentity;
  /** Where to publish (and, with a lease, whether it may now); absent for `--once`. */
  publish?: SnapshotTarget;
  /** First snapshot even if some sources never answer, after this long (milliseconds). */
  settleTimeoutMs?: number;
  /** Ask again after a 403/404 after this long (milliseconds, default 60,000). */
  recheckMissingMs?: number;
  /** Refuse snapshots larger than this (bytes); default: the NATS server's `max_payload`. */
  maxPayloadBytes?: number;
  /** Where snapshots, heartbeats and watch restarts are counted (`registerCollectorMetrics`). */
  metrics?: CollectorMetrics;
  /**
   * How long to leave another replica's newer snapshot in place while this collector's own
   * watch catches up (milliseconds, default 30,000; see `SnapshotPublisher`).
   */
  behindGraceMs?: number;
};

export type LatestDerivation = {
  facts: ClusterFacts;
  hash: string;
  /** What the derivation had to drop (malformed objects, invalid IPs/CIDRs); logged at warn. */
  diagnostics: DerivationDiagnostics;
};

/** The first derivation could not be published: the essential sources never answered. */
export class UnansweredClusterError extends Error {
  constructor(readonly unanswered: readonly string[]) {
    super(
      `no cluster snapshot: the API server never answered for ${unanswered.join("; ")}. ` +
        "Check the kubeconfig's server, the network path and TLS.",
    );
    this.name = "UnansweredClusterError";
  }
}

export type RunningCollector = {
  /**
   * Resolves with the first derived facts (after every source answered, or the settle timeout);
   * rejects with {@link UnansweredClusterError} when the settle timeout passed and nodes or
   * /version never answered (nothing is published then; a later answer still is).
   */
  firstFacts: Promise<ClusterFacts>;
  /** Identifies this collector in heartbeats and as the events' `source` (its pod name in Kubernetes). */
  readonly collectorId: string;
  /** The latest derived facts, their content hash and diagnostics (published or not). */
  readonly latest: LatestDerivation | null;
  /** Content hash of the newest snapshot on the agent's subject; null before the first. */
  readonly publishedHash: string | null;
  /** Resolves once no change is waiting in the coalescing window and no cycle is running. */
  whenIdle(): Promise<void>;
  stop(): Promise<void>;
};

/**
 * Watches the cluster, derives `ClusterFacts` after each burst of changes, and publishes a
 * snapshot only when the content hash changes (plus a heartbeat every `heartbeatMs`).
 */
export function startCollector(options: CollectorOptions): RunningCollector {
  const { logger } = options;
  const collectorId = options.identity?.collectorId ?? randomUUID();
  const resolver = new ApiEndpointResolver();
  let latest: LatestDerivation | null = null;
  const publisher = options.publish
    ? new SnapshotPublisher({
        target: options.publish,
        collectorId,
        ...(options.identity ? { replica: options.identity.replica } : {}),
        logger,
        ...(options.maxPayloadBytes ? { maxPayloadBytes: options.maxPayloadBytes } : {}),
        ...(options.behindGraceMs === undefined ? {} : { behindGraceMs: options.behindGraceMs }),
      })
    : null;
  // A collector behind another replica's snapshot looks again this often, even with no change.
  const behindRecheckMs = Math.min(5_000, options.behindGraceMs ?? DEFAULT_BEHIND_GRACE_MS);
  let cycleState = INITIAL_COLLECTOR_CYCLE;
  // Resources the state machine decides about: the open window's timer and the running cycle.
  let windowTimer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let resolveFirst: (facts: ClusterFacts) => void = () => {};
  let rejectFirst: (error: Error) => void = () => {};
  const firstFacts = new Promise<ClusterFacts>((resolve, reject) => {
    resolveFirst = resolve;
    rejectFirst = reject;
  });
  // A publishing collector may never await it: its rejection is logged, not unhandled.
  firstFacts.catch(() => {});

  const watch = new ClusterWatch(
    options.kubeConfig,
    schedule,
    (message) => logger.warn({ problem: message }, "cluster source problem"),
    {
      ...(options.recheckMissingMs === undefined ? {} : { recheckMissingMs: options.recheckMissingMs }),
      ...(options.metrics ? { counters: options.metrics } : {}),
    },
  );

  function dispatch(event: CollectorCycleEvent): CollectorCycleEffect {
    const { state, effect } = nextCollectorCycle(cycleState, event);
    cycleState = state;
    if (effect === "open-window") {
      windowTimer = setTimeout(() => {
        windowTimer = null;
        dispatch({ type: "window-closed" });
      }, options.coalesceMs);
    } else if (effect === "start-cycle") {
      running = cycle()
        .catch((error: unknown) => {
          dispatch({ type: "cycle-failed" });
          // Publishing gave up (NATS away for minutes): keep watching, try again later.
          logger.error({ error: String(error) }, "snapshot cycle failed; retrying");
          setTimeout(schedule, 5_000).unref();
        })
        .finally(() => (running = null));
    }
    return effect;
  }

  function schedule(): void {
    dispatch({ type: "change" });
  }

  // The watch cache's node objects are replaced on change, never mutated: parsed once each.
  const nodeScanMemo = new NodeScanMemo();

  async function derive() {
    const context = {
      connection: options.connection,
      downward: options.downward,
      configured: options.configured,
    };
    const observation = watch.observation(context);
    // Taken with each observation, in the same tick: the view the facts are derived from.
    let versions = watch.observedVersions();
    const unanswered = unansweredEssentialSources(observation);
    const first = deriveClusterFactsWithDiagnostics(observation, new Date(), { nodeScanMemo });
    const resolvedApiEndpointIps = await resolver.resolve(first.facts.api_endpoint);
    if (!resolvedApiEndpointIps) return { ...first, unanswered, versions };
    const again = watch.observation({ ...context, resolvedApiEndpointIps });
    versions = watch.observedVersions();
    const second = deriveClusterFactsWithDiagnostics(again, new Date(), { nodeScanMemo });
    return { ...second, unanswered, versions };
  }

  async function cycle(): Promise<void> {
    while (dispatch({ type: "cycle-step", sourcesSettled: watch.settled }) === "derive") {
      const { facts, diagnostics, unanswered, versions } = await derive();
      if (unanswered.length > 0) {
        // Forced by the settle timeout with no word from the API server: not the cluster's truth.
        const error = new UnansweredClusterError(unanswered);
        logger.error({ unanswered }, "not publishing a snapshot: essential sources never answered");
        rejectFirst(error);
        continue;
      }
      const hash = clusterFactsContentHash(facts);
      latest = { facts, hash, diagnostics };
      if (hasDiagnostics(diagnostics)) {
        logger.warn({ diagnostics }, "cluster objects dropped or values rejected during derivation");
      }
      resolveFirst(facts);
      if (publisher) await publishCounted(publisher, facts, hash, versions);
    }
  }

  async function publishCounted(
    target: SnapshotPublisher,
    facts: ClusterFacts,
    hash: string,
    versions: ObservedVersions,
  ): Promise<void> {
    try {
      // Awaited first: `metrics?.snapshot(await …)` would skip the publish without metrics.
      const outcome = await target.publishIfChanged(facts, hash, versions);
      options.metrics?.snapshot(outcome);
      // Usually this collector's watch delivers the newer state first; this bounds the wait.
      if (outcome === "behind") setTimeout(schedule, behindRecheckMs).unref();
    } catch (error) {
      options.metrics?.publishFailed();
      throw error;
    }
  }

  async function heartbeat(): Promise<void> {
    if (!publisher || cycleState.phase === "stopped") return;
    const sent = await publisher.heartbeat();
    options.metrics?.heartbeat(sent ? "sent" : "failed");
  }

  watch.start();
  void heartbeat();
  const heartbeatTimer = setInterval(() => void heartbeat(), options.heartbeatMs);
  const settleTimer = setTimeout(() => {
    if (watch.settled) return;
    logger.warn({ unsettled: watch.unsettled }, "publishing without sources that have not answered");
    dispatch({ type: "settle-timeout" });
  }, options.settleTimeoutMs ?? 15_000);

  return {
    firstFacts,
    collectorId,
    get latest() {
      return latest;
    },
    get publishedHash() {
      return publisher?.lastPublishedHash ?? null;
    },
    async whenIdle() {
      while (cycleState.windowOpen || running) {
        await (running ?? new Promise((r) => setTimeout(r, options.coalesceMs)));
      }
    },
    async stop() {
      dispatch({ type: "stop" });
      clearInterval(heartbeatTimer);
      clearTimeout(settleTimer);
      if (windowTimer) clearTimeout(windowTimer);
      watch.stop();
      await running;
      // Its connection ends now, not when the heartbeats grow old.
      await publisher?.heartbeat({ stopping: true });
    },
  };
}

function hasDiagnostics(d: DerivationDiagnostics): boolean {
  return (
    Object.keys(d.rejectedObjects).length > 0 ||
    d.invalidIps > 0 ||
    d.invalidCidrs > 0 ||
    d.unknownAddressTypes > 0
  );
}
