/**
 * How fast is deriveClusterFacts on large dual-stack clusters, and does the snapshot fit in one
 * NATS message?
 *
 * Method: for 100, 1,000 and 5,000 nodes (fixture: libs/cluster-info/src/testing/large-cluster.ts),
 * time the derivation and a baseline — JSON.parse(JSON.stringify(nodes)) of the same node list,
 * i.e. one copy of the input, about the least work any derivation must do — in the same process,
 * interleaved, after a warm-up; report medians and their ratio. Heap delta is heapUsed after one
 * derivation minus before (forced GC first when run with --expose-gc, otherwise indicative only).
 * Snapshot size is the UTF-8 byte length of the facts' JSON, compared with nats-server's default
 * max_payload of 1 MiB (1,048,576 bytes).
 *
 * Run: npx tsx bench/cluster-info-derivation.bench.ts
 *  or: node --expose-gc --import tsx bench/cluster-info-derivation.bench.ts (exact heap deltas)
 */
import { cpus } from "node:os";
import { pathToFileURL } from "node:url";
import { deriveClusterFacts } from "@kasmap/cluster-info";
import { largeDualStackObservation } from "@kasmap/cluster-info/testing";
import { printGoal } from "./support/goal.ts";
import { median } from "./support/stats.ts";

const NATS_DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
const SIZES = [100, 1_000, 5_000] as const;
const NOW = new Date("2025-01-01T00:00:00Z");

function timeOnce(work: () => unknown): number {
  const start = process.hrtime.bigint();
  work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) gc();
}

type Row = {
  nodes: number;
  baselineMs: number;
  deriveMs: number;
  heapDeltaMiB: number;
  snapshotBytes: number;
};

function measure(nodeCount: number): Row {
  const observation = largeDualStackObservation(nodeCount);
  const nodes = observation.nodes.state === "ok" ? observation.nodes.value : [];
  const baseline = () => JSON.parse(JSON.stringify(nodes));
  const derive = () => deriveClusterFacts(observation, NOW);
  const rounds = nodeCount >= 5_000 ? 9 : nodeCount >= 1_000 ? 21 : 101;
  for (let i = 0; i < 3; i++) {
    baseline();
    derive();
  }
  const baselineTimes: number[] = [];
  const deriveTimes: number[] = [];
  for (let i = 0; i < rounds; i++) {
    baselineTimes.push(timeOnce(baseline));
    deriveTimes.push(timeOnce(derive));
  }
  collectGarbage();
  const heapBefore = process.memoryUsage().heapUsed;
  const facts = derive();
  const heapAfter = process.memoryUsage().heapUsed;
  return {
    nodes: nodeCount,
    baselineMs: median(baselineTimes),
    deriveMs: median(deriveTimes),
    heapDeltaMiB: (heapAfter - heapBefore) / (1024 * 1024),
    snapshotBytes: Buffer.byteLength(JSON.stringify(facts), "utf8"),
  };
}

/** Prints one line per cluster size; callable from a bench runner. */
export async function runClusterInfoDerivationBench(): Promise<void> {
  const cpu = cpus();
  console.log(
    `cluster-info derivation — node ${process.version}, ${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, ` +
      `gc ${typeof (globalThis as { gc?: unknown }).gc === "function" ? "forced" : "not forced (heap deltas indicative)"}`,
  );
  console.log("baseline: JSON.parse(JSON.stringify(nodes)) of the same node list, same run; medians");
  let largest: Row | null = null;
  for (const size of SIZES) {
    const row = measure(size);
    largest = row;
    const ratio = row.deriveMs / row.baselineMs;
    const share = (100 * row.snapshotBytes) / NATS_DEFAULT_MAX_PAYLOAD_BYTES;
    console.log(
      `${String(row.nodes).padStart(5)} dual-stack nodes: derive ${row.deriveMs.toFixed(2)} ms = ` +
        `${ratio.toFixed(2)}× baseline (${row.baselineMs.toFixed(2)} ms); heap Δ ${row.heapDeltaMiB.toFixed(1)} MiB; ` +
        `snapshot ${row.snapshotBytes} B = ${share.toFixed(1)}% of NATS 1 MiB max_payload`,
    );
  }
  // Issue 12 sets no speed goal for the derivation; the bound it must hold is that the largest
  // cluster's snapshot fits in one NATS message.
  printGoal({
    name: `snapshot-size-${largest?.nodes ?? 0}-nodes`,
    measured: (largest?.snapshotBytes ?? Number.NaN) / NATS_DEFAULT_MAX_PAYLOAD_BYTES,
    kind: "atMost",
    bound: 1,
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runClusterInfoDerivationBench();
}
