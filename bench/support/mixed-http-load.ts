import { spawn } from "node:child_process";
import type { LoadResult } from "./http-load.ts";

/** One request of a mix: a path (with query) on the server under load and its headers. */
export type MixedRequest = { path: string; headers: Record<string, string> };

/**
 * How requests arrive. `closed`: `concurrency` loops, each sending its next request when the
 * previous one answered (measures capacity). `open`: requests start at a fixed `ratePerSecond`
 * whatever the server does, as independent clients would; each latency counts from the moment
 * the request was due, so a server that falls behind pays for the queue (no coordinated
 * omission). `maxSockets` bounds the open connections of the open loop; its first `warmupSeconds`
 * (default 0) are sent but not measured, the first `rampSeconds` of them (default 0) at a rate
 * rising linearly from 0, the rest at the rate. `each`: as `closed`, but
 * every request of the list once, in order, however long it takes (`seconds` is ignored).
 */
export type ArrivalMode =
  | { kind: "closed"; concurrency: number }
  | { kind: "each"; concurrency: number }
  | { kind: "open"; ratePerSecond: number; maxSockets: number; warmupSeconds?: number; rampSeconds?: number };

export type MixedLoadResult = LoadResult & { p999Ms: number; maxMs: number };

/**
 * The load generator, run in a Node process of its own (CommonJS, no dependencies): keep-alive
 * HTTP/1.1 over plain `net` sockets, each request's bytes encoded once up front, each answer
 * read only as far as its status line and `Content-Length`. node:http's client costs more CPU
 * per request than the bare-fastify baseline does to answer it; on a 2-vCPU machine that cost
 * is taken from the servers under test, and in the bench's own process (with authz and the
 * projection) the generator itself became the bottleneck. Both sides are measured with it alike.
 * Each connection reads into a buffer of its own (`onread`), parsed in place: open loop at 15,000
 * requests/s with 9.5-KB answers, ~15.5 µs of generator CPU per request instead of ~19 µs with a
 * stream and a Buffer per read (2026-12-04) — on 2 vCPUs, CPU the servers under test get back.
 */
const GENERATOR_SOURCE = `
  const net = require("node:net");
  let input = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk) => { input += chunk; });
  process.stdin.on("end", () => { main(JSON.parse(input)); });
  const HEADER_END = Buffer.from("\\r\\n\\r\\n");
  function main({ origin, requests, mode, seconds }) {
    const target = new URL(origin);
    const host = target.hostname;
    const port = Number(target.port);
    const encoded = requests.map(({ path, headers }) => Buffer.from(
      "GET " + path + " HTTP/1.1\\r\\nHost: " + target.host + "\\r\\n" +
      Object.entries(headers).map(([k, v]) => k + ": " + v + "\\r\\n").join("") + "\\r\\n", "latin1"));
    const latencies = [];
    let errors = 0;
    let next = mode.kind === "each" ? 0 : Math.floor(Math.random() * encoded.length);
    const nextRequest = () => { const r = encoded[next]; next = (next + 1) % encoded.length; return r; };
    /** A keep-alive connection sending one request at a time; calls done(ok) per answer. */
    function connection() {
      let socket = null;
      let pending = null;
      let remaining = -1;
      let status = 0;
      let current = null;
      const open = () => {
        // Reads land in this connection's own buffer, parsed in place (\`onread\`): no Buffer
        // per read and no stream machinery, which cost the generator more than the answers did.
        socket = net.connect({ host, port, onread: { buffer: Buffer.allocUnsafe(65536), callback: onRead } });
        socket.setNoDelay(true);
        socket.on("error", () => {});
        socket.on("close", () => {
          socket = null; pending = null; remaining = -1;
          if (current) { const c = current; current = null; c(false); }
        });
      };
      function onRead(length, buffer) {
        let chunk = buffer.subarray(0, length);
        let offset = 0;
        // A head split over reads: the part already read, copied (the buffer is reused).
        if (pending) { chunk = Buffer.concat([pending, chunk]); pending = null; }
        while (offset < chunk.length) {
          if (remaining < 0) {
            const end = chunk.indexOf(HEADER_END, offset);
            if (end < 0) { pending = Buffer.from(chunk.subarray(offset)); return; }
            const head = chunk.toString("latin1", offset, end);
            status = Number(head.slice(9, 12));
            const length = /\\r\\ncontent-length:\\s*(\\d+)/i.exec(head);
            if (!length) { socket.destroy(); return; }
            remaining = Number(length[1]);
            offset = end + 4;
          }
          const take = Math.min(remaining, chunk.length - offset);
          offset += take;
          remaining -= take;
          if (remaining === 0) {
            remaining = -1;
            const c = current; current = null;
            if (c) c(status === 200);
          }
        }
      }
      return {
        busy: () => current !== null,
        send(bytes, done) {
          if (!socket) open();
          current = done;
          socket.write(bytes);
        },
        close: () => socket && socket.destroy(),
      };
    }
    const finish = (started) => {
      const took = (performance.now() - started) / 1000;
      const elapsed = mode.kind === "each" ? took : Math.max(seconds, took - warmupSeconds);
      if (timeline && mode.kind === "open") {
        const buckets = new Map();
        for (let i = 0; i < timeline.length; i += 2) {
          const b = Math.floor((timeline[i] - started) / 250);
          const e = buckets.get(b) ?? { n: 0, max: 0, slow: 0 };
          e.n++; e.max = Math.max(e.max, timeline[i + 1]); if (timeline[i + 1] > 50) e.slow++;
          buckets.set(b, e);
        }
        const t0 = performance.timeOrigin + started;
        process.stderr.write("load timeline from " + new Date(t0).toISOString() + " (" + t0.toFixed(0) +
          " ms since the epoch; per 250 ms of due time: ms of the slowest answer / answers over 50 ms): " +
          [...buckets].sort((a, b) => a[0] - b[0]).map(([b, e]) => b * 250 + "ms:" + e.max.toFixed(0) + "/" + e.slow).join(" ") + "\\n");
      }
      latencies.sort((a, b) => a - b);
      const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
      process.stdout.write(JSON.stringify({
        requests: latencies.length, errors, seconds: elapsed, rps: latencies.length / elapsed,
        p50Ms: at(0.5), p99Ms: at(0.99), p999Ms: at(0.999), maxMs: latencies[latencies.length - 1] ?? NaN,
      }) + "\\n", () => process.exit(0));
    };
    const started = performance.now();
    const end = started + seconds * 1000;
    const warmupSeconds = mode.kind === "open" ? mode.warmupSeconds ?? 0 : 0;
    const measuredFrom = started + warmupSeconds * 1000;
    const timeline = process.env.BENCH_LOAD_TIMELINE ? [] : null;
    const record = (dueAt, ok) => {
      if (ok) { const l = performance.now() - dueAt; if (dueAt >= measuredFrom) latencies.push(l); if (timeline) timeline.push(dueAt, l); } else errors++;
    };
    if (mode.kind === "closed" || mode.kind === "each") {
      let sent = 0;
      let running = mode.concurrency;
      const more = () => mode.kind === "each" ? sent < encoded.length : performance.now() < end;
      for (let i = 0; i < mode.concurrency; i++) {
        const c = connection();
        const loop = () => {
          if (!more()) { c.close(); if (--running === 0) finish(started); return; }
          sent++;
          const dueAt = performance.now();
          c.send(nextRequest(), (ok) => { record(dueAt, ok); loop(); });
        };
        loop();
      }
      return;
    }
    // Open loop: requests fall due at a fixed rate; a due request waits for a free connection.
    const idle = Array.from({ length: mode.maxSockets }, connection);
    const queue = [];
    let issued = 0;
    let answered = 0;
    // The first rampSeconds of the warm-up ramp the rate up from 0 (N(t) = rate·t²/(2·ramp)), the
    // rest of the run holds it (N(t) = rate·(t − ramp/2)): request i falls due at dueOffset(i) ms.
    const ramp = Math.min(mode.rampSeconds ?? 0, warmupSeconds) * 1000;
    const rampRequests = (mode.ratePerSecond * ramp) / 2000;
    const dueOffset = (i) =>
      i < rampRequests ? Math.sqrt((2000 * ramp * i) / mode.ratePerSecond) : (i * 1000) / mode.ratePerSecond + ramp / 2;
    const dueBy = (ms) =>
      ms < ramp ? Math.floor((mode.ratePerSecond * ms * ms) / (2000 * ramp)) + 1 : Math.floor((mode.ratePerSecond * (ms - ramp / 2)) / 1000) + 1;
    const total = Math.floor(mode.ratePerSecond * (warmupSeconds + seconds) - rampRequests);
    const dispatch = () => {
      while (queue.length > 0 && idle.length > 0) {
        const c = idle.pop();
        const { bytes, dueAt } = queue.shift();
        c.send(bytes, (ok) => { record(dueAt, ok); answered++; idle.push(c); dispatch(); });
      }
    };
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, dueBy(now - started));
      for (; issued < due; issued++) queue.push({ bytes: nextRequest(), dueAt: started + dueOffset(issued) });
      dispatch();
      if (issued < total) { setTimeout(tick, 1); return; }
      const deadline = performance.now() + 10_000;
      const drain = () => {
        if (answered >= total || performance.now() > deadline) {
          errors += total - answered;
          finish(started);
        } else setTimeout(drain, 5);
      };
      drain();
    };
    tick();
  }
`;

/**
 * Sends `requests` (in turn, starting at a random place, so a mix shuffled once spreads over
 * users and agents) to `origin` for `seconds`, from a load-generator process of its own with
 * keep-alive connections (`GENERATOR_SOURCE`). Non-200 answers and requests unanswered 10 s after
 * the end count as errors.
 */
export function runMixedHttpLoad(
  origin: string,
  requests: readonly MixedRequest[],
  mode: ArrivalMode,
  seconds: number,
): Promise<MixedLoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", GENERATOR_SOURCE], { stdio: ["pipe", "pipe", "inherit"] });
    let output = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      output += chunk;
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      const line = output.split("\n").find((l) => l.startsWith("{"));
      if (code !== 0 || !line) reject(new Error(`the load generator exited (${String(code)}): ${output}`));
      else resolve(JSON.parse(line) as MixedLoadResult);
    });
    child.stdin.end(JSON.stringify({ origin, requests, mode, seconds }));
  });
}
