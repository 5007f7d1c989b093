import { randomUUID } from "node:crypto";
import { type Bus, publishEvent } from "@kasmap/bus";
import {
  type ClusterConfiguration,
  type CollectorConnection,
  clusterFactsContentHash,
  type DownwardApi,
  deriveClusterFacts,
} from "@kasmap/cluster-info";
import { type ClusterFacts, EVENT_TYPES, newKasmapEvent } from "@kasmap/contracts";
import type { Logger } from "@kasmap/logging";
import type { KubeConfig } from "@kubernetes/client-node";
import { ApiEndpointResolver } from "./api-endpoint-resolver.ts";
import { ClusterWatch } from "./kube/cluster-watch.ts";

export type CollectorOptions = {
  kubeConfig: KubeConfig;
  connection: CollectorConnection;
  downward: DownwardApi;
  configured: ClusterConfiguration;
  /** Changes within this window become one snapshot (milliseconds). */
  coalesceMs: number;
  heartbeatMs: number;
  logger: Logger;
  /** Where to publish; absent for `--once`. */
  publish?: { bus: Bus; agentId: number };
  /** First snapshot even if some sources never answer, after this long (milliseconds). */
  settleTimeoutMs?: number;
};

export type RunningCollector = {
  /** Resolves with the first derived facts (after every source answered, or the settle timeout). */
  firstFacts: Promise<ClusterFacts>;
  /** The latest derived facts and their content hash. */
  readonly latest: { facts: ClusterFacts; hash: string } | null;
  stop(): Promise<void>;
};

/**
 * Watches the cluster, derives `ClusterFacts` after each burst of changes, and publishes a
 * snapshot only when the content hash changes (plus a heartbeat every `heartbeatMs`).
 */
export function startCollector(options: CollectorOptions): RunningCollector {
  const { logger } = options;
  const collectorId = randomUUID();
  const resolver = new ApiEndpointResolver();
  let latest: { facts: ClusterFacts; hash: string } | null = null;
  let publishedHash: string | null = null;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let dirty = false;
  let forced = false;
  let stopped = false;
  let resolveFirst: (facts: ClusterFacts) => void = () => {};
  const firstFacts = new Promise<ClusterFacts>((resolve) => {
    resolveFirst = resolve;
  });

  const watch = new ClusterWatch(options.kubeConfig, schedule, (message) =>
    logger.warn({ problem: message }, "cluster source problem"),
  );

  function schedule(): void {
    dirty = true;
    if (timer || stopped) return;
    timer = setTimeout(() => {
      timer = null;
      if (!running) running = cycle().finally(() => (running = null));
    }, options.coalesceMs);
  }

  async function derive(): Promise<ClusterFacts> {
    const context = {
      connection: options.connection,
      downward: options.downward,
      configured: options.configured,
    };
    const facts = deriveClusterFacts(watch.observation(context), new Date());
    const resolvedApiEndpointIps = await resolver.resolve(facts.api_endpoint);
    if (!resolvedApiEndpointIps) return facts;
    return deriveClusterFacts(watch.observation({ ...context, resolvedApiEndpointIps }), new Date());
  }

  async function cycle(): Promise<void> {
    while (dirty && !stopped) {
      dirty = false;
      if (!watch.settled && !forced) continue;
      const facts = await derive();
      const hash = clusterFactsContentHash(facts);
      latest = { facts, hash };
      resolveFirst(facts);
      if (options.publish && hash !== publishedHash) {
        await publishSnapshot(facts, hash, options.publish);
        publishedHash = hash;
      }
    }
  }

  async function publishSnapshot(facts: ClusterFacts, hash: string, target: { bus: Bus; agentId: number }) {
    const event = newKasmapEvent({
      type: EVENT_TYPES.clusterSnapshot,
      source: `/kasmap/collector/${collectorId}`,
      subject: target.bus.topology.subjects.clusterSnapshot(target.agentId),
      data: { agent_id: target.agentId, content_hash: hash, cluster: facts },
    });
    const position = await publishEvent(target.bus, event);
    logger.info(
      { agent_id: target.agentId, content_hash: hash, seq: position.seq, nodes: facts.node_count },
      "published cluster snapshot",
    );
  }

  async function heartbeat(): Promise<void> {
    if (!options.publish || stopped) return;
    const { bus, agentId } = options.publish;
    const event = newKasmapEvent({
      type: EVENT_TYPES.clusterHeartbeat,
      source: `/kasmap/collector/${collectorId}`,
      subject: bus.topology.subjects.clusterHeartbeat(agentId),
      data: {
        agent_id: agentId,
        collector_id: collectorId,
        content_hash: publishedHash,
        sent_at: new Date().toISOString(),
      },
    });
    await publishEvent(bus, event, { maxAttempts: 3 }).catch((error: unknown) =>
      logger.warn({ error: String(error) }, "heartbeat not published"),
    );
  }

  watch.start();
  void heartbeat();
  const heartbeatTimer = setInterval(() => void heartbeat(), options.heartbeatMs);
  const settleTimer = setTimeout(() => {
    if (watch.settled) return;
    logger.warn({ unsettled: watch.unsettled }, "publishing without sources that have not answered");
    forced = true;
    schedule();
  }, options.settleTimeoutMs ?? 15_000);

  return {
    firstFacts,
    get latest() {
      return latest;
    },
    async stop() {
      stopped = true;
      clearInterval(heartbeatTimer);
      clearTimeout(settleTimer);
      if (timer) clearTimeout(timer);
      watch.stop();
      await running;
    },
  };
}
