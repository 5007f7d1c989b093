import { firstMessageOfWorker, type LoadResult } from "./http-load.ts";

/** One request of a mix: a path (with query) on the server under load and its headers. */
export type MixedRequest = { path: string; headers: Record<string, string> };

/**
 * How requests arrive. `closed`: `concurrency` loops, each sending its next request when the
 * previous one answered (measures capacity). `open`: requests start at a fixed `ratePerSecond`
 * whatever the server does, as independent clients would; each latency counts from the moment
 * the request was due, so a server that falls behind pays for the queue (no coordinated
 * omission). `maxSockets` bounds the open connections of the open loop. `each`: as `closed`, but
 * every request of the list once, in order, however long it takes (`seconds` is ignored).
 */
export type ArrivalMode =
  | { kind: "closed"; concurrency: number }
  | { kind: "each"; concurrency: number }
  | { kind: "open"; ratePerSecond: number; maxSockets: number };

export type MixedLoadResult = LoadResult & { p999Ms: number; maxMs: number };

/**
 * Sends `requests` (in turn, starting at a random place, so a mix shuffled once spreads over
 * users and agents) to `origin` for `seconds`, from a worker thread with keep-alive node:http
 * connections. Non-200 answers and requests unanswered 10 s after the end count as errors.
 */
export function runMixedHttpLoad(
  origin: string,
  requests: readonly MixedRequest[],
  mode: ArrivalMode,
  seconds: number,
): Promise<MixedLoadResult> {
  const source = `
    const { parentPort, workerData } = require("node:worker_threads");
    const http = require("node:http");
    const { origin, requests, mode, seconds } = workerData;
    const target = new URL(origin);
    const sockets = mode.kind === "open" ? mode.maxSockets : mode.concurrency;
    const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
    const latencies = [];
    let errors = 0;
    let next = mode.kind === "each" ? 0 : Math.floor(Math.random() * requests.length);
    function send(dueAt) {
      const { path, headers } = requests[next];
      next = (next + 1) % requests.length;
      return new Promise((resolve) => {
        const request = http.get({ host: target.hostname, port: target.port, path, headers, agent }, (response) => {
          response.on("data", () => {});
          response.on("end", () => {
            if (response.statusCode !== 200) errors++;
            latencies.push(performance.now() - dueAt);
            resolve();
          });
        });
        request.on("error", () => { errors++; resolve(); });
      });
    }
    (async () => {
      const started = performance.now();
      const end = started + seconds * 1000;
      if (mode.kind === "each") {
        let sent = 0;
        await Promise.all(Array.from({ length: mode.concurrency }, async () => {
          while (sent < requests.length) {
            sent++;
            await send(performance.now());
          }
        }));
      } else if (mode.kind === "closed") {
        await Promise.all(Array.from({ length: mode.concurrency }, async () => {
          while (performance.now() < end) await send(performance.now());
        }));
      } else {
        const pending = new Set();
        let issued = 0;
        const total = Math.floor(mode.ratePerSecond * seconds);
        while (issued < total) {
          const now = performance.now();
          const due = Math.min(total, Math.floor(((now - started) * mode.ratePerSecond) / 1000) + 1);
          for (; issued < due; issued++) {
            const dueAt = started + (issued * 1000) / mode.ratePerSecond;
            const promise = send(dueAt);
            pending.add(promise);
            promise.then(() => pending.delete(promise));
          }
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        const unanswered = await Promise.race([
          Promise.all(pending).then(() => 0),
          new Promise((resolve) => setTimeout(() => resolve(pending.size), 10_000)),
        ]);
        errors += unanswered;
      }
      const took = (performance.now() - started) / 1000;
      const elapsed = mode.kind === "each" ? took : Math.max(seconds, took);
      latencies.sort((a, b) => a - b);
      const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
      parentPort.postMessage({
        requests: latencies.length, errors, seconds: elapsed, rps: latencies.length / elapsed,
        p50Ms: at(0.5), p99Ms: at(0.99), p999Ms: at(0.999), maxMs: latencies[latencies.length - 1] ?? NaN,
      });
      agent.destroy();
    })();
  `;
  return firstMessageOfWorker<MixedLoadResult>(source, { origin, requests, mode, seconds });
}
