import { Worker } from "node:worker_threads";

export type LoadResult = {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
};

/**
 * Drives `concurrency` keep-alive request loops (node:http, one Agent) against `url` for `seconds`, from a worker
 * thread so the load generator does not share the server's event loop (it does share the
 * machine's 2 cores, equally for the baseline and the subject).
 */
export function runHttpLoad(
  url: string,
  headers: Record<string, string>,
  concurrency: number,
  seconds: number,
): Promise<LoadResult> {
  return runHttpLoadOver([{ url, headers }], concurrency, seconds);
}

/**
 * `runHttpLoad` spread over several targets (many users' tokens, many resources): request n goes
 * to `targets[n % targets.length]`, so every target gets its share and no single key stays hot.
 * Every target must be on the same host and port (one keep-alive pool).
 */
export function runHttpLoadOver(
  targets: readonly LoadTarget[],
  concurrency: number,
  seconds: number,
): Promise<LoadResult> {
  const source = `
    const { parentPort, workerData } = require("node:worker_threads");
    const { targets, concurrency, seconds } = workerData;
    (async () => {
      const latencies = [];
      let errors = 0;
      let next = 0;
      const end = performance.now() + seconds * 1000;
      const http = require("node:http");
      const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
      const parsed = targets.map(({ url, headers }) => {
        const target = new URL(url);
        return { host: target.hostname, port: target.port, path: target.pathname + target.search, headers };
      });
      function once() {
        const target = parsed[next++ % parsed.length];
        return new Promise((resolve) => {
          const request = http.get({ ...target, agent }, (response) => {
            response.on("data", () => {});
            response.on("end", () => resolve(response.statusCode));
          });
          request.on("error", () => resolve(0));
        });
      }
      async function loop() {
        while (performance.now() < end) {
          const start = performance.now();
          const status = await once();
          if (status !== 200) errors++;
          latencies.push(performance.now() - start);
        }
      }
      const started = performance.now();
      await Promise.all(Array.from({ length: concurrency }, loop));
      const elapsed = (performance.now() - started) / 1000;
      latencies.sort((a, b) => a - b);
      const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
      parentPort.postMessage({ requests: latencies.length, errors, seconds: elapsed, rps: latencies.length / elapsed, p50Ms: at(0.5), p99Ms: at(0.99) });
    })();
  `;
  return firstMessageOfWorker<LoadResult>(source, { targets, concurrency, seconds });
}

/** Runs the CommonJS `source` in a worker thread with `workerData`; its first message, then ends it. */
export function firstMessageOfWorker<T>(source: string, workerData: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(source, { eval: true, workerData });
    worker.once("message", (result: T) => {
      void worker.terminate();
      resolve(result);
    });
    worker.once("error", reject);
  });
}

/** A URL under load and the headers of every request to it. */
export type LoadTarget = { url: string; headers: Record<string, string> };
export type LoadShape = { concurrency: number; seconds: number };

/** The load the HTTP benches' goals are stated under: 50 keep-alive connections for 5 s. */
export const BENCH_HTTP_LOAD: LoadShape = { concurrency: 50, seconds: 5 };

/**
 * The baseline and the subject under the same `load`, interleaved twice (baseline, subject,
 * baseline, subject), each run after a 1 s warm-up at the same concurrency. The better run of
 * each side (by requests/s) counts, so neither side pays alone for a cold start.
 */
export async function compareUnderLoad(
  baseline: LoadTarget | readonly LoadTarget[],
  subject: LoadTarget | readonly LoadTarget[],
  load: LoadShape,
): Promise<{ base: LoadResult; subject: LoadResult }> {
  const measure = async (target: LoadTarget | readonly LoadTarget[]) => {
    const targets = Array.isArray(target) ? target : [target as LoadTarget];
    await runHttpLoadOver(targets, load.concurrency, 1);
    return runHttpLoadOver(targets, load.concurrency, load.seconds);
  };
  const better = (a: LoadResult, b: LoadResult) => (a.rps >= b.rps ? a : b);
  const firstBase = await measure(baseline);
  const firstSubject = await measure(subject);
  const secondBase = await measure(baseline);
  const secondSubject = await measure(subject);
  return { base: better(firstBase, secondBase), subject: better(firstSubject, secondSubject) };
}
