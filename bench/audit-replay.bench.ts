/**
 * Does `npm run audit:replay` stream the audit log at a rate near a raw read of the same
 * streams, in constant memory? (issue 12, goal 5: ≥ 0.5× a raw ordered-consumer replay.)
 *
 * Method: a fresh topology (random root) on NATS_URL; AGENTS agents with a token each on the
 * registry stream and EVENTS small snapshots on the cluster stream. Then, interleaved twice
 * (the better of each pair counts), each in its own process started the same way
 * (`node --import tsx`, so both pay the same start-up):
 * - baseline: bench/support/raw-ordered-replay.ts — one ordered consumer per audit stream,
 *   every message counted, nothing parsed or printed;
 * - subject: cli/audit-replay/audit-replay.ts --from-seq 1, its JSON lines counted from a pipe.
 * Each process's peak RSS is read from /proc/<pid>/status (VmHWM, polled every 20 ms). Figures:
 * events/s and the ratio; peak RSS of the CLI against the baseline's (constant memory: a
 * replay that buffers the window grows with it, the baseline does not).
 *
 * Run: npx tsx bench/audit-replay.bench.ts
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { publishEvent } from "@kasmap/bus";
import { EVENT_TYPES, newKasmapEvent } from "@kasmap/contracts";
import { buildClusterFacts, testEvents } from "@kasmap/testing";
import { withBenchStreams } from "./support/bench-streams.ts";
import { printGoal } from "./support/goal.ts";

const AGENTS = 100;
const EVENTS = Number(process.env.BENCH_REPLAY_EVENTS ?? 20_000);
const root = fileURLToPath(new URL("..", import.meta.url));

type Run = { seconds: number; lines: number; peakRssMiB: number };

/** Runs `node --import tsx <args>` to its end: wall time, stdout lines, peak RSS. */
function runProcess(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ["--import", "tsx", ...args], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let lines = 0;
    let last = "";
    child.stdout.on("data", (chunk: Buffer) => {
      const text = last + chunk.toString("utf8");
      const parts = text.split("\n");
      last = parts.pop() ?? "";
      lines += parts.length;
    });
    let peakKiB = 0;
    const poll = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
        const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
        peakKiB = Math.max(peakKiB, hwm);
      } catch {
        // The process has ended between two polls.
      }
    }, 20);
    child.on("error", reject);
    child.on("close", (code) => {
      clearInterval(poll);
      if (code !== 0) reject(new Error(`${args[0]} exited with ${code}`));
      else resolve({ seconds: (performance.now() - started) / 1000, lines, peakRssMiB: peakKiB / 1024 });
    });
  });
}

export async function runAuditReplayBench(): Promise<void> {
  await withBenchStreams("audit-replay-bench", async (bus) => {
    const { topology } = bus;
    const e = testEvents(topology);
    for (let agentId = 1; agentId <= AGENTS; agentId++) {
      await publishEvent(bus, e.agent(agentId, 1));
      await publishEvent(bus, e.agentToken(agentId, agentId));
    }
    for (let start = 0; start < EVENTS; start += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, EVENTS - start) }, (_, i) => {
          const n = start + i;
          const agentId = 1 + (n % AGENTS);
          const cluster = buildClusterFacts({
            cluster_name: `cluster-${agentId}`,
            node_count: 1 + n,
            observed_at: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, n)).toISOString(),
          });
          return publishEvent(
            bus,
            newKasmapEvent({
              type: EVENT_TYPES.clusterSnapshot,
              source: "/kasmap/bench",
              subject: topology.subjects.clusterSnapshot(agentId),
              data: { agent_id: agentId, content_hash: `${n}`.padStart(64, "0"), cluster },
            }),
          );
        }),
      );
    }
    const total = 2 * AGENTS + EVENTS;
    const streams = [topology.streamNames.registry, topology.streamNames.authz, topology.streamNames.cluster];
    const env = { ...process.env, KASMAP_TOPOLOGY_ROOT: topology.root, LOG_LEVEL: "warn" };
    const baselineArgs = ["bench/support/raw-ordered-replay.ts", topology.root, ...streams];
    const subjectArgs = ["cli/audit-replay/audit-replay.ts", "--from-seq", "1"];
    const runs: Run[] = [];
    for (let round = 0; round < 2; round++) {
      runs.push(await runProcess(baselineArgs, env), await runProcess(subjectArgs, env));
    }
    const faster = (a: Run | undefined, b: Run | undefined): Run => {
      if (!a || !b) throw new Error("missing run");
      return a.seconds <= b.seconds ? a : b;
    };
    const baseline = faster(runs[0], runs[2]);
    const subject = faster(runs[1], runs[3]);
    if (subject.lines !== total)
      throw new Error(`the replay printed ${subject.lines} events, expected ${total}`);
    console.log(
      `audit replay (${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}; ${total} events: ${EVENTS} snapshots, ${2 * AGENTS} registry events; each run a process incl. start-up)`,
    );
    console.log(
      `  baseline raw ordered-consumer replay: ${(total / baseline.seconds).toFixed(0)} events/s (${baseline.seconds.toFixed(2)} s), peak RSS ${baseline.peakRssMiB.toFixed(0)} MiB`,
    );
    console.log(
      `  npm run audit:replay -- --from-seq 1: ${(total / subject.seconds).toFixed(0)} events/s (${subject.seconds.toFixed(2)} s), peak RSS ${subject.peakRssMiB.toFixed(0)} MiB`,
    );
    printGoal({
      name: "audit-replay-throughput",
      measured: baseline.seconds / subject.seconds,
      kind: "atLeast",
      bound: 0.5,
    });
    // "Constant memory" made a figure: the CLI's peak against the streaming baseline's.
    printGoal({
      name: "audit-replay-peak-rss",
      measured: subject.peakRssMiB / baseline.peakRssMiB,
      kind: "atMost",
      bound: 1.5,
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await runAuditReplayBench();
  process.exit(0);
}
