/**
 * `npm run bench`: every `bench/*.bench.ts`, one after another (never in parallel: they would
 * measure each other). Each bench prints its own figures as ratios to a baseline it measures in
 * the same run; this runner calls every exported `run…Bench` function and notes any expected
 * bench that is not there yet, and ends with the whole run's time against issue 12's 25 minutes.
 * Before each bench it lets the machine settle (`settleMachine`): a PostgreSQL checkpoint, then
 * until the CPUs are idle, so that one bench's leftovers are not measured by the next.
 */
import { readdirSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { printGoal } from "./support/goal.ts";
import { settleMachine } from "./support/settle.ts";

/** Benches the README cites; a missing one is reported rather than silently skipped. */
const EXPECTED = [
  "cluster-info-derivation.bench.ts",
  "collector.bench.ts",
  "allowed-agents.bench.ts",
  "projection-throughput.bench.ts",
  "projection-heartbeats.bench.ts",
  "collector-flood.bench.ts",
  "gateway-reads.bench.ts",
  "gateway-realistic-reads.bench.ts",
  "audit-replay.bench.ts",
  "live-events.bench.ts",
  "group-move.bench.ts",
] as const;

type BenchModule = Record<string, unknown>;

const directory = fileURLToPath(new URL(".", import.meta.url));
const files = readdirSync(directory)
  .filter((name) => name.endsWith(".bench.ts"))
  .sort();

const cpu = cpus();
console.log(
  `kasmap benches — node ${process.version}, ${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, ` +
    `${(totalmem() / 1024 ** 3).toFixed(1)} GiB; files: ${files.join(", ")}`,
);
for (const name of EXPECTED) {
  if (!files.includes(name)) console.log(`note: bench/${name} is absent; skipped`);
}

let failures = 0;
const startedAll = performance.now();
for (const file of files) {
  const module = (await import(pathToFileURL(`${directory}${file}`).href)) as BenchModule;
  const runners = Object.entries(module).filter(
    (entry): entry is [string, () => Promise<void>] =>
      /^run\w*Bench$/.test(entry[0]) && typeof entry[1] === "function",
  );
  if (runners.length === 0) console.log(`note: bench/${file} exports no run…Bench function; skipped`);
  for (const [exportName, run] of runners) {
    console.log(`\n== ${file}: ${exportName}`);
    // The previous bench's leftovers (PostgreSQL's dirty pages, a process still ending) are not
    // this bench's to measure.
    try {
      const settled = await settleMachine(
        process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
      );
      const until = settled.quiet ? "quiet" : `the limit, ${(100 * settled.idleShare).toFixed(0)} % idle`;
      console.log(
        `(settled: checkpoint ${(settled.checkpointMs / 1000).toFixed(1)} s, ` +
          `then ${(settled.waitedMs / 1000).toFixed(1)} s until ${until})`,
      );
    } catch (error) {
      console.log(
        `(could not settle the machine first: ${error instanceof Error ? error.message : String(error)})`,
      );
    }
    const started = performance.now();
    try {
      await run();
    } catch (error) {
      failures++;
      console.log(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
    }
    console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
}
// Issue 12: `npm run bench` as a whole finishes within 25 minutes on this machine.
console.log(`\n${failures} bench(es) failed`);
printGoal({
  name: "bench-total-minutes",
  measured: (performance.now() - startedAll) / 60_000,
  kind: "atMost",
  bound: 25,
  unit: " min",
  digits: 1,
});
process.exit(failures === 0 ? 0 : 1);
