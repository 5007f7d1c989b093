/**
 * Issue 12 goal 6: 1,000 concurrent SSE clients on ONE gateway while 1,000 agents heartbeat —
 * at most 200 MiB of extra gateway RSS, and every client receives every event it may see within
 * 2 s.
 *
 * Method: authz and the projection run in this process (`startKasmapSystem`, real NATS and
 * PostgreSQL); the measured gateway is its own process (`services/gateway/src/main.ts`, the
 * production entry point) on the same database and topology, so its RSS is its own. The
 * registry: 10 groups × 10 projects × 10 agents (1,000 agents, created through the REST API) and
 * 100 non-admin users, 10 per group as Developers, each with a personal access token; each user
 * opens 10 streams (`GET /api/v4/events/stream`): 1,000 clients, each allowed to see 100 agents,
 * read from a worker thread. Then every agent heartbeats every 30 s (its collector's subject and
 * event, published evenly: one heartbeat every 30 ms) for `seconds`. Each client counts the
 * heartbeats of its agents and the delay from the event's `sent_at` to its arrival. The gateway's
 * RSS (VmRSS from /proc) is sampled every 250 ms; "extra" is the peak minus the RSS before the
 * clients connected. Both figures are absolute bounds, as the goal states them.
 *
 * Run: npx tsx bench/live-events.bench.ts [--seconds 60] [--streams-per-user 10]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { publishEvent } from "@kasmap/bus";
import { EVENT_TYPES, newKasmapEvent } from "@kasmap/contracts";
import { type KasmapSystem, startKasmapSystem } from "@kasmap/testing/system";
import { positiveIntegerArgument } from "./support/command-line.ts";
import { printGoal } from "./support/goal.ts";

const GROUPS = 10;
const PROJECTS_PER_GROUP = 10;
const AGENTS_PER_PROJECT = 10;
const USERS_PER_GROUP = 10;
const STREAMS_PER_USER = 10;
const HEARTBEAT_PERIOD_MS = 30_000;

export type LiveEventsBenchResult = {
  clients: number;
  agents: number;
  heartbeats: number;
  expectedDeliveries: number;
  deliveries: number;
  missing: number;
  p99DelayMs: number;
  maxDelayMs: number;
  baselineRssMiB: number;
  peakRssMiB: number;
};

type Client = { url: string; token: string; agents: number[] };

export async function measureLiveEvents(
  options: { seconds?: number; streamsPerUser?: number } = {},
): Promise<LiveEventsBenchResult> {
  process.env.NATS_URL ??= "nats://127.0.0.1:4222";
  process.env.DATABASE_URL ??= "postgres://postgres@127.0.0.1:5432/postgres";
  process.env.LOG_LEVEL ??= "silent";
  const seconds = options.seconds ?? 60;
  const streamsPerUser = options.streamsPerUser ?? STREAMS_PER_USER;
  const system = await startKasmapSystem();
  let gateway: ChildProcess | null = null;
  try {
    const registry = await createRegistry(system);
    const port = await freePort();
    gateway = startGatewayProcess(system, port, streamsPerUser);
    const base = `http://127.0.0.1:${port}`;
    await waitUntilReady(base, gateway);
    const baselineRss = rssBytes(gateway);
    const clients: Client[] = registry.users.flatMap((user) =>
      Array.from({ length: streamsPerUser }, () => ({
        url: `${base}/api/v4/events/stream`,
        token: user.token,
        agents: registry.agentsByGroup[user.group] ?? [],
      })),
    );
    const readers = startReaders(clients);
    await readers.connected;
    let peakRss = rssBytes(gateway);
    const sampler = setInterval(() => {
      if (gateway) peakRss = Math.max(peakRss, rssBytes(gateway));
    }, 250);
    const published = await heartbeatFor(system, registry.agents, seconds);
    // The last heartbeats need their 2 s to arrive (and any later is a miss anyway).
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    clearInterval(sampler);
    const received = await readers.stop();
    const expectedDeliveries = clients.reduce(
      (sum, client) => sum + client.agents.reduce((n, agent) => n + (published.get(agent) ?? 0), 0),
      0,
    );
    return {
      clients: clients.length,
      agents: registry.agents.length,
      heartbeats: [...published.values()].reduce((a, b) => a + b, 0),
      expectedDeliveries,
      deliveries: received.deliveries,
      missing: expectedDeliveries - received.onTime,
      p99DelayMs: received.p99DelayMs,
      maxDelayMs: received.maxDelayMs,
      baselineRssMiB: baselineRss / 2 ** 20,
      peakRssMiB: peakRss / 2 ** 20,
    };
  } finally {
    gateway?.kill("SIGTERM");
    await system.stop();
  }
}

/** The registry through the REST API, 8 calls at a time. */
async function createRegistry(system: KasmapSystem) {
  const post = async (path: string, body: Record<string, unknown>) => {
    const answer = await system.api("POST", path, body);
    if (answer.status !== 201)
      throw new Error(`POST ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body ?? {};
  };
  const groups = await inParallel(
    Array.from({ length: GROUPS }, (_, g) => g),
    (g) => post("/groups", { name: `Live ${g}`, path: `live-${g}` }),
  );
  const projects = await inParallel(
    Array.from({ length: GROUPS * PROJECTS_PER_GROUP }, (_, n) => n),
    (n) => {
      const g = Math.floor(n / PROJECTS_PER_GROUP);
      return post("/projects", { name: `App ${n}`, path: `app-${n}`, namespace_id: groups[g]?.id });
    },
  );
  const agentsByGroup: number[][] = Array.from({ length: GROUPS }, () => []);
  const agentAnswers = await inParallel(
    Array.from({ length: projects.length * AGENTS_PER_PROJECT }, (_, n) => n),
    async (n) => {
      const p = Math.floor(n / AGENTS_PER_PROJECT);
      const agent = await post(`/projects/${projects[p]?.id}/cluster_agents`, { name: `agent-${n}` });
      agentsByGroup[Math.floor(p / PROJECTS_PER_GROUP)]?.push(Number(agent.id));
      return agent;
    },
  );
  const users = await inParallel(
    Array.from({ length: GROUPS * USERS_PER_GROUP }, (_, n) => n),
    async (n) => {
      const group = Math.floor(n / USERS_PER_GROUP);
      const user = await post("/users", { username: `watcher-${n}`, name: `Watcher ${n}` });
      const token = await post(`/users/${user.id}/personal_access_tokens`, {
        name: "live",
        scopes: ["read_api"],
      });
      await post(`/groups/${groups[group]?.id}/members`, { user_id: user.id, access_level: 30 });
      return { group, token: String(token.token) };
    },
  );
  return { agents: agentAnswers.map((agent) => Number(agent.id)), agentsByGroup, users };
}

async function inParallel<T, R>(items: readonly T[], work: (item: T) => Promise<R>, width = 8): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await work(items[i] as T);
  };
  await Promise.all(Array.from({ length: width }, lane));
  return results;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

function startGatewayProcess(system: KasmapSystem, port: number, streamsPerUser: number): ChildProcess {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", "services/gateway/src/main.ts"], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: system.databaseUrl,
      KASMAP_TOPOLOGY_ROOT: system.topology.root,
      KASMAP_HTTP_PORT: String(port),
      KASMAP_LIVE_CONNECTIONS_PER_USER: String(streamsPerUser),
      LOG_LEVEL: "error",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  return child;
}

async function waitUntilReady(base: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`the gateway process exited with ${child.exitCode}`);
    const ok = await fetch(`${base}/-/readiness`).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("the gateway process never became ready");
}

function rssBytes(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  return Number(kib ?? 0) * 1024;
}

/** Every agent's heartbeat every `HEARTBEAT_PERIOD_MS`, evenly spread, for `seconds`; counts per agent. */
async function heartbeatFor(system: KasmapSystem, agents: readonly number[], seconds: number) {
  const published = new Map<number, number>();
  const interval = HEARTBEAT_PERIOD_MS / agents.length;
  const started = performance.now();
  for (let n = 0; performance.now() - started < seconds * 1000; n++) {
    const due = started + n * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const agentId = agents[n % agents.length] as number;
    const collectorId = `bench-collector-${agentId}`;
    await publishEvent(
      system.bus,
      newKasmapEvent({
        type: EVENT_TYPES.clusterHeartbeat,
        source: `/kasmap/collector/${collectorId}`,
        subject: system.bus.topology.subjects.clusterCollectorHeartbeat(agentId, collectorId),
        data: {
          agent_id: agentId,
          collector_id: collectorId,
          content_hash: null,
          sent_at: new Date().toISOString(),
        },
      }),
    );
    published.set(agentId, (published.get(agentId) ?? 0) + 1);
  }
  return published;
}

/**
 * The clients, in a worker thread (their parsing must not delay this process's publisher): each
 * opens its stream and counts heartbeats of its own agents that arrive within 2 s of `sent_at`.
 */
function startReaders(clients: readonly Client[]) {
  const source = `
    const { parentPort, workerData } = require("node:worker_threads");
    const http = require("node:http");
    const delays = [];
    let deliveries = 0, onTime = 0, connected = 0, failed = 0;
    const refusals = {};
    const requests = [];
    // Clients connect in waves of 50, each after the previous wave was answered: a thousand
    // browsers do not open their streams in the same millisecond.
    function open(client) {
      return new Promise((settled) => {
        const mine = new Set(client.agents);
        const target = new URL(client.url);
        const request = http.get({ host: target.hostname, port: target.port, path: target.pathname,
          headers: { "PRIVATE-TOKEN": client.token, accept: "text/event-stream" }, agent: false }, (response) => {
          if (response.statusCode !== 200) {
            failed++;
            refusals[response.statusCode] = (refusals[response.statusCode] ?? 0) + 1;
            response.resume();
            settled();
            return;
          }
          connected++;
          settled();
          let buffer = "";
          response.setEncoding("utf8");
          response.on("data", (chunk) => {
            buffer += chunk;
            let end;
            while ((end = buffer.indexOf("\\n\\n")) >= 0) {
              const frame = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              const data = frame.split("\\n").find((line) => line.startsWith("data: "));
              if (!data) continue;
              const event = JSON.parse(data.slice(6));
              if (event.type !== "${EVENT_TYPES.clusterHeartbeat}" || !mine.has(event.data.agent_id)) continue;
              const delay = Date.now() - Date.parse(event.data.sent_at);
              deliveries++;
              delays.push(delay);
              if (delay <= 2000) onTime++;
            }
          });
        });
        request.on("error", (error) => {
          failed++;
          refusals[error.code] = (refusals[error.code] ?? 0) + 1;
          settled();
        });
        requests.push(request);
      });
    }
    (async () => {
      const clients = workerData.clients;
      for (let i = 0; i < clients.length; i += 50) await Promise.all(clients.slice(i, i + 50).map(open));
      parentPort.postMessage({ connected, failed, refusals });
    })();
    parentPort.on("message", () => {
      for (const request of requests) request.destroy();
      delays.sort((a, b) => a - b);
      parentPort.postMessage({ deliveries, onTime,
        p99DelayMs: delays[Math.floor(0.99 * (delays.length - 1))] ?? NaN,
        maxDelayMs: delays[delays.length - 1] ?? NaN });
    });
  `;
  const worker = new Worker(source, { eval: true, workerData: { clients } });
  const connected = new Promise<void>((resolve, reject) => {
    worker.once(
      "message",
      (message: { connected: number; failed: number; refusals: Record<string, number> }) =>
        message.failed === 0
          ? resolve()
          : reject(
              new Error(
                `${message.failed} of ${clients.length} streams were refused: ${JSON.stringify(message.refusals)}`,
              ),
            ),
    );
    worker.once("error", reject);
  });
  return {
    connected,
    async stop() {
      const result = new Promise<{
        deliveries: number;
        onTime: number;
        p99DelayMs: number;
        maxDelayMs: number;
      }>((resolve) => worker.once("message", resolve));
      worker.postMessage("stop");
      const answer = await result;
      await worker.terminate();
      return answer;
    },
  };
}

export async function printLiveEventsBench(result: LiveEventsBenchResult): Promise<void> {
  console.log(
    `live events: ${result.clients} SSE clients on one gateway process, ${result.agents} agents heartbeating every ${HEARTBEAT_PERIOD_MS / 1000} s (${result.heartbeats} heartbeats)`,
  );
  console.log(
    `  deliveries ${result.deliveries} of ${result.expectedDeliveries} expected, ${result.missing} missing or later than 2 s; delay p99 ${result.p99DelayMs} ms, max ${result.maxDelayMs} ms`,
  );
  console.log(
    `  gateway RSS ${result.baselineRssMiB.toFixed(0)} MiB before the clients, peak ${result.peakRssMiB.toFixed(0)} MiB`,
  );
  printGoal({
    name: "live-events-extra-rss",
    measured: result.peakRssMiB - result.baselineRssMiB,
    kind: "atMost",
    bound: 200,
    unit: " MiB",
    digits: 0,
  });
  printGoal({
    name: "live-events-delivered-within-2s",
    measured:
      result.expectedDeliveries === 0
        ? 0
        : (result.expectedDeliveries - result.missing) / result.expectedDeliveries,
    kind: "atLeast",
    bound: 1,
    digits: 4,
  });
}

/** What `npm run bench` calls. */
export async function runLiveEventsBench(): Promise<void> {
  await printLiveEventsBench(await measureLiveEvents());
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await printLiveEventsBench(
    await measureLiveEvents({
      seconds: positiveIntegerArgument("seconds", 60),
      streamsPerUser: positiveIntegerArgument("streams-per-user", STREAMS_PER_USER),
    }),
  );
  process.exit(0);
}
