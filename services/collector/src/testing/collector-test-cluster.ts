import { type Bus, connectBus, ensureStreams } from "@kasmap/bus";
import type { ClusterFacts } from "@kasmap/contracts";
import {
  buildKubeconfig,
  DEMO_CLUSTER_DIRECTORY,
  KubeSimulator,
  type KubeSimulatorOptions,
} from "@kasmap/kube-simulator";
import { createTestTopology, eventually, testNatsUrl } from "@kasmap/testing/harness";
import { resourceForFile } from "@kasmap/testing/resource-for-file";
import { KubeConfig } from "@kubernetes/client-node";
import { pino } from "pino";
import { type CollectorOptions, type RunningCollector, startCollector } from "../collector.ts";

/** Test-only: a simulated cluster, a bus on this file's own streams, and collectors under test. */

export type PublishedSnapshot = {
  seq: number;
  contentHash: string;
  collectorId: string;
  cluster: ClusterFacts;
};
export type LogLine = { level: number; msg: string } & Record<string, unknown>;

export type CollectorTestCluster = {
  simulator: KubeSimulator;
  kubeConfig: KubeConfig;
  bus: Bus;
  /** Every log line of every collector started here, parsed. */
  logs: LogLine[];
  startCollector(agentId: number, overrides?: Partial<CollectorOptions>): RunningCollector;
  /** The agent's snapshots in stream order, read back from JetStream. */
  snapshots(agentId: number): Promise<PublishedSnapshot[]>;
  /** Waits until the agent's snapshots satisfy `accept`, then returns them. */
  snapshotsWhen(
    agentId: number,
    accept: (snapshots: PublishedSnapshot[]) => boolean,
    what: string,
  ): Promise<PublishedSnapshot[]>;
  /** Waits until the agent's newest snapshot's facts satisfy `accept`, then returns that snapshot. */
  latestSnapshotWhen(
    agentId: number,
    accept: (facts: ClusterFacts) => boolean,
    what: string,
  ): Promise<PublishedSnapshot>;
  /** The newest heartbeat's data on the agent's subject, or null. */
  lastHeartbeat(agentId: number): Promise<Record<string, unknown> | null>;
  close(): Promise<void>;
};

export async function startCollectorTestCluster(
  options: KubeSimulatorOptions = {},
): Promise<CollectorTestCluster> {
  const simulator = new KubeSimulator(options);
  await simulator.loadFromDirectory(DEMO_CLUSTER_DIRECTORY);
  const { url } = await simulator.start();
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(buildKubeconfig(url));
  const topology = createTestTopology();
  const bus = await connectBus({ url: testNatsUrl(), name: "collector-test", topology });
  await ensureStreams(bus);
  const logs: LogLine[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const collectors: RunningCollector[] = [];

  async function storedMessages(stream: string, subject: string) {
    const info = await bus.jsm.streams.info(stream);
    const found = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const message = await bus.jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (message?.subject === subject) found.push(message);
    }
    return found;
  }

  async function snapshots(agentId: number): Promise<PublishedSnapshot[]> {
    const messages = await storedMessages(
      topology.streamNames.cluster,
      topology.subjects.clusterSnapshot(agentId),
    );
    return messages.map((m) => {
      const event = m.json<{ source: string; data: { content_hash: string; cluster: ClusterFacts } }>();
      return {
        seq: m.seq,
        contentHash: event.data.content_hash,
        collectorId: event.source.replace("/kasmap/collector/", ""),
        cluster: event.data.cluster,
      };
    });
  }

  return {
    simulator,
    kubeConfig,
    bus,
    logs,
    startCollector(agentId, overrides = {}) {
      const collector = startCollector({
        kubeConfig,
        connection: { server: url, mode: "kubeconfig" },
        downward: { podIp: "10.244.1.17", namespace: "gitlab-agent", namespaceSource: "env" },
        configured: {},
        coalesceMs: 100,
        heartbeatMs: 60_000,
        logger,
        publish: { bus, agentId },
        ...overrides,
      });
      collectors.push(collector);
      return collector;
    },
    snapshots,
    snapshotsWhen(agentId, accept, what) {
      return eventually(async () => {
        const found = await snapshots(agentId);
        return accept(found) ? found : undefined;
      }, what);
    },
    latestSnapshotWhen(agentId, accept, what) {
      return eventually(async () => {
        const latest = (await snapshots(agentId)).at(-1);
        return latest && accept(latest.cluster) ? latest : undefined;
      }, what);
    },
    async lastHeartbeat(agentId) {
      const message = await bus.jsm.streams
        .getMessage(topology.streamNames.heartbeat, {
          last_by_subj: topology.subjects.clusterHeartbeat(agentId),
        })
        .catch(() => null);
      return message ? (message.json<{ data: Record<string, unknown> }>().data ?? null) : null;
    },
    async close() {
      for (const collector of collectors) await collector.stop();
      await simulator.close();
      for (const stream of topology.streams) await bus.jsm.streams.delete(stream.name).catch(() => {});
      await bus.close();
    },
  };
}

/**
 * The cluster of one test file (the repository's one setup pattern): started in `beforeAll`,
 * before the file's own hooks, and closed in `afterAll`, after them. Filled in when started: read
 * it inside hooks and tests only.
 */
export function collectorTestClusterForFile(options: KubeSimulatorOptions = {}): CollectorTestCluster {
  return resourceForFile(
    () => startCollectorTestCluster(options),
    (cluster) => cluster.close(),
  );
}

/** Replaces one node's InternalIP (IPv4) with `address`. */
export function setInternalIp(simulator: KubeSimulator, node: string, address: string): void {
  simulator.patchNode(node, (current) => {
    const status = current.status as { addresses: Array<{ type: string; address: string }> };
    status.addresses = status.addresses.map((a) => (a.type === "InternalIP" ? { ...a, address } : a));
    return current;
  });
}
