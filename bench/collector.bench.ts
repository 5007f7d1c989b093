/**
 * What does the collector cost on large clusters, does its snapshot fit in one NATS message, and
 * how fast does a node change reach `GET …/cluster_info`?
 *
 * Method, per cluster of 100, 1,000 and 5,000 dual-stack nodes (large-cluster.ts fixture, each
 * node filled out like a real kubelet's: 40 images, 5 conditions, capacity, nodeInfo,
 * managedFields, annotations) served by the KubeSimulator over real HTTP:
 * (i)  memory: a child process (`node --expose-gc --import tsx`) loads the collector's modules,
 *      forces GC and reads heapUsed/RSS (the baseline), runs the collector until its first
 *      snapshot, forces GC and reads them again; the delta is what the watched, projected state
 *      costs. Compared with the JSON bytes of the full Node objects an unprojected cache holds.
 * (ii) snapshot size: UTF-8 bytes of the snapshot event (CloudEvents JSON) vs the NATS server's
 *      max_payload (1 MiB by default and in infra/nats/single-node.conf).
 * (iii) latency: the real collector program (bin/kasmap-collector.mjs, default --coalesce-ms 200)
 *      publishing to authz + projection + gateway on NATS JetStream and PostgreSQL; time from
 *      `simulator.patchNode` to the new InternalIP in `GET …/cluster_info` (polled back to back),
 *      median and p99 of BENCH_CHANGES (default 200) changes, as ratios to the median of 200 bare
 *      NATS request/reply round trips measured in the same run; issue 12's goal 3 is p99 < 1 s.
 *      Each change's time split at its snapshot's publication and at the projection's change
 *      notice (core NATS subscriptions to both subjects), medians and p99s per stage.
 *
 * Run: npx tsx bench/collector.bench.ts (NATS on 127.0.0.1:4222 and PostgreSQL on :5432 unless
 * NATS_URL / DATABASE_URL say otherwise).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import {
  buildDualStackNodes,
  buildKubernetesEndpointSlice,
  buildKubernetesService,
} from "@kasmap/cluster-info/testing";
import { KubeSimulator } from "@kasmap/kube-simulator";
import type { V1Node } from "@kubernetes/client-node";
import { type Goal, printGoal } from "./support/goal.ts";
import { median } from "./support/stats.ts";

const SIZES = (
  process.env.BENCH_SIZES ? process.env.BENCH_SIZES.split(",").map(Number) : [100, 1_000, 5_000]
) as readonly number[];
/** Node changes per cluster size; issue 12 goal 3 asks for a p99 over at least 200. */
const CHANGES = Number(process.env.BENCH_CHANGES ?? 200);
const RTT_SAMPLES = 200;
const MIB = 1024 * 1024;
const root = fileURLToPath(new URL("..", import.meta.url));
const SELF = fileURLToPath(import.meta.url);

/** The nearest-rank percentile (`fraction` 0.99 → p99). */
function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] ?? Number.NaN;
}

/** A Node as a kubelet reports it: the projection drops the images, conditions and managedFields. */
function realisticNode(node: V1Node, i: number): V1Node {
  const now = "2025-01-14T09:12:03Z";
  const quantity = { cpu: "4", memory: "16073344Ki", pods: "110", "ephemeral-storage": "101430960Ki" };
  return {
    ...node,
    metadata: {
      ...node.metadata,
      annotations: {
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        "csi.volume.kubernetes.io/nodeid": `{"ebs.csi.aws.com":"i-${i.toString(16).padStart(17, "0")}"}`,
      },
      managedFields: ["kubelet", "kube-controller-manager", "aws-cloud-controller-manager"].map(
        (manager) => ({
          manager,
          operation: "Update",
          apiVersion: "v1",
          time: new Date(now),
          fieldsType: "FieldsV1",
          fieldsV1: { "f:status": { "f:conditions": {}, "f:images": {}, "f:nodeInfo": {} } },
        }),
      ),
    },
    status: {
      ...node.status,
      capacity: quantity,
      allocatable: quantity,
      conditions: ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready", "NetworkUnavailable"].map(
        (type) => ({
          type,
          status: type === "Ready" ? "True" : "False",
          lastHeartbeatTime: new Date(now),
          lastTransitionTime: new Date(now),
          reason: `Kubelet${type}`,
          message: `kubelet reports ${type} as expected`,
        }),
      ),
      images: Array.from({ length: 40 }, (_, k) => ({
        names: [
          `registry.example.com/team-${k % 7}/service-${k}@sha256:${(k * 7919 + i).toString(16).padStart(64, "0")}`,
          `registry.example.com/team-${k % 7}/service-${k}:v1.${k}.${i % 10}`,
        ],
        sizeBytes: 50_000_000 + k * 1_000_003,
      })),
      nodeInfo: {
        machineID: i.toString(16).padStart(32, "0"),
        systemUUID: `ec2${i.toString(16).padStart(29, "0")}`,
        bootID: `${i.toString(16).padStart(8, "0")}-0000-4000-8000-000000000000`,
        kernelVersion: "6.1.112-124.190.amzn2023.x86_64",
        osImage: "Amazon Linux 2023.6.20241121",
        containerRuntimeVersion: "containerd://1.7.23",
        kubeletVersion: "v1.31.2-eks-94953ac",
        kubeProxyVersion: "v1.31.2-eks-94953ac",
        operatingSystem: "linux",
        architecture: "amd64",
      },
    },
  };
}

async function loadCluster(
  size: number,
): Promise<{ simulator: KubeSimulator; kubeconfig: string; fullBytes: number }> {
  const simulator = new KubeSimulator();
  const nodes = buildDualStackNodes(size).map(realisticNode);
  for (const node of nodes) simulator.upsert(node);
  simulator.upsert(buildKubernetesService(["10.96.0.1", "fd00:10:96::1"]));
  simulator.upsert(buildKubernetesEndpointSlice("IPv4", ["10.0.0.10", "10.0.1.10", "10.0.2.10"]));
  await simulator.start();
  const kubeconfig = join(mkdtempSync(join(tmpdir(), "kasmap-bench-")), "kubeconfig");
  await simulator.writeKubeconfig(kubeconfig);
  return { simulator, kubeconfig, fullBytes: Buffer.byteLength(JSON.stringify(nodes)) };
}

type MemoryReport = {
  heapDelta: number;
  rssDelta: number;
  baselineHeap: number;
  snapshotBytes: number;
  nodeCount: number;
};

/** Runs in the child: baseline, one collector to its first snapshot, measure again. */
async function memoryChild(kubeconfigPath: string): Promise<void> {
  const { encodedBytes, startCollector, loadKubeConfig } = await import("@kasmap/collector-service");
  const { newKasmapEvent, EVENT_TYPES } = await import("@kasmap/contracts");
  const { pino } = await import("pino");
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  gc();
  const before = process.memoryUsage();
  const { kubeConfig, connection } = loadKubeConfig(kubeconfigPath);
  const collector = startCollector({
    kubeConfig,
    connection,
    downward: { podIp: null, namespace: null, namespaceSource: null },
    configured: {},
    coalesceMs: 200,
    heartbeatMs: 60_000,
    logger: pino({ level: "silent" }),
  });
  const facts = await collector.firstFacts;
  // Let the list responses (deserialized whole) fall out of scope before measuring.
  await collector.whenIdle();
  await new Promise((r) => setTimeout(r, 500));
  gc();
  gc();
  const after = process.memoryUsage();
  const event = newKasmapEvent({
    type: EVENT_TYPES.clusterSnapshot,
    source: "/kasmap/collector/00000000-0000-4000-8000-000000000000",
    subject: "kasmap.cluster.1.snapshot",
    data: { agent_id: 1, content_hash: "0".repeat(64), cluster: facts },
  });
  const report: MemoryReport = {
    heapDelta: after.heapUsed - before.heapUsed,
    rssDelta: after.rss - before.rss,
    baselineHeap: before.heapUsed,
    snapshotBytes: encodedBytes(event),
    nodeCount: facts.node_count,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  await collector.stop();
  process.exit(0);
}

async function measureMemory(kubeconfig: string): Promise<MemoryReport> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--expose-gc", "--import", "tsx", SELF, "--memory-child", kubeconfig],
    { cwd: root, maxBuffer: 16 * MIB, timeout: 120_000 },
  );
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as MemoryReport;
}

export async function runCollectorBench(): Promise<void> {
  process.env.NATS_URL ??= "nats://127.0.0.1:4222";
  process.env.DATABASE_URL ??= "postgres://postgres@127.0.0.1:5432/postgres";
  process.env.LOG_LEVEL ??= "silent";
  const { startKasmapSystem } = await import("@kasmap/testing/system");
  const cpu = cpus();
  console.log(
    `collector — node ${process.version} ${process.execArgv.join(" ") || "(no flags)"}; ` +
      `${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, ${(totalmem() / 1024 ** 3).toFixed(1)} GiB; ` +
      "memory child: --expose-gc (forced GC); latency: kasmap-collector --coalesce-ms 200 (the default)",
  );
  const { DEFAULT_COLLECTOR_LIMITS } = await import("@kasmap/projection-service");
  // 200 changes back to back pass the projection's 60 snapshots per agent and minute (issue 7.6);
  // the bench measures latency, not that limit, so it is lifted.
  const system = await startKasmapSystem({
    projection: { collectorLimits: { ...DEFAULT_COLLECTOR_LIMITS, snapshotsPerMinute: 1_000_000 } },
  });
  try {
    const maxPayload = system.bus.nc.info?.max_payload ?? MIB;
    const rttSubject = `${system.topology.root}.bench.rtt`;
    const sub = system.bus.nc.subscribe(rttSubject, {
      callback: (_e, m) => {
        m.respond(m.data);
      },
    });
    const rtts: number[] = [];
    for (let i = 0; i < RTT_SAMPLES; i++) {
      const start = performance.now();
      await system.bus.nc.request(rttSubject, "x", { timeout: 2_000 });
      rtts.push(performance.now() - start);
    }
    sub.unsubscribe();
    const rtt = median(rtts.slice(20));
    console.log(
      `baseline: bare NATS request/reply round trip, median of ${RTT_SAMPLES - 20}: ${rtt.toFixed(3)} ms`,
    );

    // Issue 12 goal 3 is an absolute bound (p99 < 1 s); printed together once every size ran.
    const goals: Goal[] = [];
    for (const size of SIZES) {
      const { simulator, kubeconfig, fullBytes } = await loadCluster(size);
      let collector: ChildProcess | null = null;
      try {
        const memory = await measureMemory(kubeconfig);
        const perNode = memory.snapshotBytes / size;
        console.log(
          `${String(size).padStart(5)} nodes: collector heap Δ ${(memory.heapDelta / MIB).toFixed(1)} MiB ` +
            `(${(memory.heapDelta / size / 1024).toFixed(2)} KiB/node; baseline heap ${(memory.baselineHeap / MIB).toFixed(1)} MiB; ` +
            `${((100 * memory.heapDelta) / fullBytes).toFixed(1)}% of the ${(fullBytes / MIB).toFixed(1)} MiB of full Node JSON), ` +
            `RSS Δ ${(memory.rssDelta / MIB).toFixed(1)} MiB`,
        );
        console.log(
          `${String(size).padStart(5)} nodes: snapshot ${memory.snapshotBytes} B (${perNode.toFixed(0)} B/node) = ` +
            `${((100 * memory.snapshotBytes) / maxPayload).toFixed(1)}% of max_payload ${maxPayload} B; ` +
            `limit reached at ~${Math.floor(maxPayload / perNode)} such nodes`,
        );
        const { samples, stages } = await measureLatency(
          system,
          simulator,
          kubeconfig,
          size,
          (c) => (collector = c),
        );
        const latency = median(samples);
        const p99 = percentile(samples, 0.99);
        console.log(
          `${String(size).padStart(5)} nodes: patchNode → GET cluster_info over ${samples.length} changes: median ${latency.toFixed(1)} ms = ` +
            `${(latency / rtt).toFixed(0)}× NATS round trip, p99 ${p99.toFixed(1)} ms = ${(p99 / rtt).toFixed(0)}× ` +
            "(of which up to 200 ms is the coalescing window)",
        );
        const stage = (values: number[]) =>
          `${median(values).toFixed(0)} / ${percentile(values, 0.99).toFixed(0)} ms`;
        console.log(
          `${String(size).padStart(5)} nodes: median / p99 per stage: patch → snapshot published ${stage(stages.published)} ` +
            `(collector, the 200 ms window included), → applied and noticed ${stage(stages.applied)} (projection), ` +
            `→ visible ${stage(stages.visible)} (gateway reload and the reader's next poll)`,
        );
        goals.push({
          name: `node-change-p99-${size}-nodes`,
          measured: p99 / 1000,
          kind: "below",
          bound: 1,
          unit: " s",
        });
      } finally {
        (collector as ChildProcess | null)?.kill("SIGTERM");
        await simulator.close();
      }
    }
    for (const goal of goals) printGoal(goal);
  } finally {
    await system.stop();
  }
}

type System = import("@kasmap/testing/system").KasmapSystem;

/** Per change, ms: patch → snapshot published, → change notice after commit, → visible in the read. */
type Stages = { published: number[]; applied: number[]; visible: number[] };

async function measureLatency(
  system: System,
  simulator: KubeSimulator,
  kubeconfig: string,
  size: number,
  started: (child: ChildProcess) => void,
): Promise<{ samples: number[]; stages: Stages }> {
  const path = `bench-${size}`;
  const group = await system.api("POST", "/groups", { name: path, path });
  const project = await system.api("POST", "/projects", {
    name: "clusters",
    path: "clusters",
    namespace_id: group.body?.id,
  });
  const agent = await system.api("POST", `/projects/${project.body?.id}/cluster_agents`, {
    name: `agent-${size}`,
  });
  const token = await system.api(
    "POST",
    `/projects/${project.body?.id}/cluster_agents/${agent.body?.id}/tokens`,
    {
      name: "bench",
    },
  );
  const child = spawn(
    process.execPath,
    [join(root, "services/collector/bin/kasmap-collector.mjs"), "--kubeconfig", kubeconfig],
    {
      env: {
        ...process.env,
        KASMAP_AGENT_TOKEN: String(token.body?.token),
        NATS_URL: process.env.NATS_URL,
        KASMAP_TOPOLOGY_ROOT: system.topology.root,
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  started(child);
  const infoPath = `/projects/${project.body?.id}/cluster_agents/${agent.body?.id}/cluster_info`;
  const visible = async (ip: string, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const r = await system.api("GET", infoPath);
      const ips = (r.body?.node_ips as { internal?: string[] } | undefined)?.internal ?? [];
      if (ips.includes(ip)) return;
    }
    throw new Error(`timed out waiting for ${ip} in ${infoPath}`);
  };
  await visible("10.0.0.10", 60_000);
  // Where each change's time goes: when its snapshot was published (collector: watch event,
  // coalescing window, derivation, publish) and when the projection's change notice for it came
  // (applied and committed); the rest is the gateway's reload and the reader's poll.
  const agentId = Number(agent.body?.id);
  let publishedAt = 0;
  let noticedAt = 0;
  const snapshots = system.bus.nc.subscribe(system.topology.subjects.clusterSnapshot(agentId), {
    callback: () => {
      publishedAt = performance.now();
    },
  });
  const notices = system.bus.nc.subscribe(system.topology.subjects.readModelChanged("cluster_snapshots"), {
    callback: (_error, message) => {
      if ((message.json() as { agent_id?: number }).agent_id === agentId) noticedAt = performance.now();
    },
  });
  const stages: Stages = { published: [], applied: [], visible: [] };
  const samples: number[] = [];
  for (let i = 1; i <= CHANGES; i++) {
    // Unique per change (up to 65,536 of them); node by node, round the cluster when it is smaller.
    const ip = `10.${255 - (i >> 8)}.${i & 255}.${size % 250}`;
    const start = performance.now();
    simulator.patchNode(`worker-${i % size}`, (node) => {
      const status = node.status as { addresses: Array<{ type: string; address: string }> };
      status.addresses = status.addresses.map((a) =>
        a.type === "InternalIP" && !a.address.includes(":") ? { ...a, address: ip } : a,
      );
      return node;
    });
    await visible(ip, 30_000);
    const end = performance.now();
    samples.push(end - start);
    stages.published.push(publishedAt - start);
    stages.applied.push(noticedAt - publishedAt);
    stages.visible.push(end - noticedAt);
  }
  snapshots.unsubscribe();
  notices.unsubscribe();
  child.kill("SIGTERM");
  return { samples, stages };
}

const memoryChildIndex = process.argv.indexOf("--memory-child");
if (memoryChildIndex > 0) {
  await memoryChild(process.argv[memoryChildIndex + 1] ?? "");
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runCollectorBench();
}
