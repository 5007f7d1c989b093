/**
 * How close does the gateway's hot read come to a bare HTTP server?
 *
 * Method: the real system (authz, projection, gateway; NATS_URL / DATABASE_URL or the local
 * defaults) with one agent whose cluster_info comes from a 100-node dual-stack snapshot. The
 * subject is `GET /api/v4/projects/:id/cluster_agents/:agent_id?with_cluster_info=true` with a
 * personal access token (authentication, permission check, agent, snapshot, heartbeat — all
 * served from the gateway's notice-invalidated caches after the first request). The baseline,
 * measured in the same run with the same load generator, is fastify returning the same JSON
 * body as a constant: the ceiling for any handler. Both: 50 keep-alive connections from a
 * worker thread, 5 s after a 1 s warm-up, interleaved twice (best of each pair). Figures: requests/s and p99 latency, each as a ratio.
 *
 * Run: npx tsx bench/gateway-reads.bench.ts
 */
import { cpus } from "node:os";
import { pathToFileURL } from "node:url";
import { startKasmapSystem } from "@kasmap/testing/system";
import Fastify from "fastify";
import { printGoal } from "./support/goal.ts";
import { BENCH_HTTP_LOAD, compareUnderLoad, type LoadShape } from "./support/http-load.ts";
import { publishLargeSnapshot } from "./support/large-snapshot.ts";

/** `load`: the bench's own unless told (a smaller one only checks that the bench runs). */
export async function runGatewayReadsBench(load: LoadShape = BENCH_HTTP_LOAD): Promise<void> {
  process.env.NATS_URL ??= "nats://127.0.0.1:4222";
  process.env.DATABASE_URL ??= "postgres://postgres@127.0.0.1:5432/postgres";
  process.env.LOG_LEVEL ??= "silent";
  const system = await startKasmapSystem();
  try {
    const group = await system.api("POST", "/groups", { name: "Bench", path: "bench" });
    const project = await system.api("POST", "/projects", {
      name: "Infra",
      path: "infra",
      namespace_id: group.body?.id,
    });
    const agent = await system.api("POST", `/projects/${project.body?.id}/cluster_agents`, {
      name: "bench-agent",
    });
    const agentId = Number(agent.body?.id);
    // A collector reports with a token: the projection refuses snapshots of an agent without an
    // active one (issue 7.6), so the bench mints one as `kasmap-collector` users do.
    await system.api("POST", `/projects/${project.body?.id}/cluster_agents/${agentId}/tokens`, {
      name: "collector",
    });
    await publishLargeSnapshot(system.bus, agentId);
    const path = `/projects/${project.body?.id}/cluster_agents/${agentId}?with_cluster_info=true`;
    let body = "";
    for (let i = 0; i < 200 && !body.includes('"cluster_info":{'); i++) {
      body = JSON.stringify((await system.api("GET", path)).body);
      await new Promise((r) => setTimeout(r, 25));
    }
    // Measuring an agent without its cluster_info would time a body a fraction of the real size.
    if (!body.includes('"cluster_info":{')) throw new Error("the snapshot never reached the gateway");

    const baseline = Fastify();
    baseline.get("/fixed", async (_request, reply) =>
      reply.header("content-type", "application/json").send(body),
    );
    const baselineUrl = await baseline.listen({ port: 0, host: "127.0.0.1" });
    const { base, subject } = await compareUnderLoad(
      { url: `${baselineUrl}/fixed`, headers: {} },
      { url: `${system.gatewayUrl}/api/v4${path}`, headers: { "PRIVATE-TOKEN": system.adminToken } },
      load,
    );
    await baseline.close();

    console.log(
      `gateway hot read (${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}; body ${body.length} bytes)`,
    );
    console.log(`  baseline fixed JSON: ${base.rps.toFixed(0)} req/s, p99 ${base.p99Ms.toFixed(1)} ms`);
    console.log(
      `  gateway GET agent+cluster_info: ${subject.rps.toFixed(0)} req/s, p99 ${subject.p99Ms.toFixed(1)} ms, errors ${subject.errors}`,
    );
    console.log(
      `  ratio: throughput ${(subject.rps / base.rps).toFixed(2)}× of baseline, p99 ${(subject.p99Ms / base.p99Ms).toFixed(2)}× of baseline`,
    );
    // Issue 12 goal 2 (here under the bench's own load: one agent, the admin token, a warm cache).
    printGoal({
      name: "gateway-reads-throughput",
      measured: subject.rps / base.rps,
      kind: "atLeast",
      bound: 0.7,
    });
    printGoal({ name: "gateway-reads-p99", measured: subject.p99Ms / base.p99Ms, kind: "atMost", bound: 2 });
  } finally {
    await system.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await runGatewayReadsBench();
  process.exit(0);
}
