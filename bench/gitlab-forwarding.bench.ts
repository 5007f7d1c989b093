/**
 * How much does Kasmap cost in front of GitLab? (issue 9, GitLab mode)
 *
 * Method: the GitLab simulator (libs/testing), in a process of its own as a GitLab would be,
 * holds a group, a project, an agent and a developer;
 * the projection (real NATS JetStream and PostgreSQL; NATS_URL / DATABASE_URL or the local
 * defaults) holds the same agent by its GitLab id with a 100-node dual-stack snapshot; the gateway
 * runs in GitLab mode against the simulator with a 300 s permission TTL, in a process of its own
 * (as in production: not sharing the projection's event loop). The subject is
 * `GET /api/v4/projects/:id/cluster_agents/:agent_id?with_cluster_info=true` through Kasmap
 * (forwarded to GitLab with the caller's token, GitLab's body parsed, `cluster_info` added from the
 * gateway's caches, serialized); the baseline, measured in the same run with the same load
 * generator, is the same GitLab call made directly to the simulator (without `cluster_info`).
 * Both: 50 keep-alive connections from a worker thread, 5 s after a 1 s warm-up, interleaved
 * twice (best of each pair). The figure is the subject's requests/s as a ratio of the baseline's
 * (goal ≥ 0.7). The simulator, the gateway and the load generator share the machine, so the
 * subject pays for GitLab's work too, as it would on one host. After the comparison one more run
 * of each side reads the CPU time of the simulator's and the gateway's processes (/proc/<pid>/stat)
 * and prints the CPU per request of each: were the two processes alone on the CPUs and CPU-bound,
 * the ratio could not pass the simulator's CPU per direct request over the sum of both per
 * forwarded request (on a machine shared with other work, CPU per request grows as requests/s
 * fall: fewer requests share each read, write and event-loop turn).
 *
 * Run: npx tsx bench/gitlab-forwarding.bench.ts
 */
import { cpus, loadavg } from "node:os";
import { pathToFileURL } from "node:url";
import { publishEvent } from "@kasmap/bus";
import { createLogger } from "@kasmap/logging";
import { startProjectionService } from "@kasmap/projection-service";
import { testEvents } from "@kasmap/testing";
import { createTestWorld } from "@kasmap/testing/world";
import { startGatewayProcess } from "./support/gateway-process.ts";
import { startSimulatorProcess } from "./support/gitlab-simulator-process.ts";
import { BENCH_HTTP_LOAD, compareUnderLoad, type LoadShape, runHttpLoad } from "./support/http-load.ts";
import { publishLargeSnapshot } from "./support/large-snapshot.ts";
import { withProcessCpu } from "./support/process-cpu.ts";

const GOAL = 0.7;

/** `load`: the bench's own unless told (a smaller one only checks that the bench runs). */
export async function runGitLabForwardingBench(load: LoadShape = BENCH_HTTP_LOAD): Promise<void> {
  process.env.NATS_URL ??= "nats://127.0.0.1:4222";
  process.env.DATABASE_URL ??= "postgres://postgres@127.0.0.1:5432/postgres";
  process.env.LOG_LEVEL ??= "silent";
  const sim = await startSimulatorProcess();
  const world = await createTestWorld({ name: "gitlab-forwarding-bench" });
  const silent = (name: string) => createLogger(name, "silent");
  const stops: Array<() => Promise<void>> = [() => sim.stop(), () => world.teardown()];
  try {
    const group = { id: sim.groupId };
    const project = { id: sim.projectId };
    const agent = { id: sim.agentId };
    const token = sim.token;

    const projection = await startProjectionService({
      bus: world.bus,
      databaseUrl: world.database.url,
      logger: silent("projection"),
    });
    stops.unshift(() => projection.stop());
    // The mirror's registry events, by GitLab id, then a snapshot as a collector sends it.
    const events = testEvents(world.topology);
    await publishEvent(world.bus, events.group(group.id));
    await publishEvent(world.bus, events.project(project.id, group.id));
    await publishEvent(world.bus, events.agent(agent.id, project.id));
    await publishEvent(world.bus, events.agentToken(agent.id, agent.id));
    await publishLargeSnapshot(world.bus, agent.id);

    const profileDir = process.env.BENCH_GATEWAY_CPU_PROF;
    const gatewayProcess = await startGatewayProcess({
      natsUrl: process.env.NATS_URL,
      databaseUrl: world.database.url,
      topologyRoot: world.topology.root,
      gitlabUrl: sim.url,
      ...(profileDir ? { nodeOptions: ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] } : {}),
    });
    stops.unshift(() => gatewayProcess.stop());
    const gateway = gatewayProcess.info;
    const path = `/projects/${project.id}/cluster_agents/${agent.id}`;
    const auth = { "PRIVATE-TOKEN": token };
    const subjectUrl = `${gateway.url}/api/v4${path}?with_cluster_info=true`;
    let body = "";
    for (let i = 0; i < 200 && !body.includes('"cluster_info":{'); i++) {
      body = await (await fetch(subjectUrl, { headers: auth })).text();
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    // Measuring without cluster_info would time a body a fraction of the real size.
    if (!body.includes('"cluster_info":{')) throw new Error("the snapshot never reached the gateway");

    const { base, subject } = await compareUnderLoad(
      { url: `${sim.apiUrl}${path}`, headers: auth },
      { url: subjectUrl, headers: auth },
      load,
    );
    const ratio = subject.rps / base.rps;
    const cpuPerRequestUs = async (url: string, pids: number[]) => {
      const { result, cpuSeconds } = await withProcessCpu(pids, () =>
        runHttpLoad(url, auth, load.concurrency, load.seconds),
      );
      return cpuSeconds.map((seconds) => (seconds * 1e6) / Math.max(1, result.requests));
    };
    const [simulatorDirect = Number.NaN] = await cpuPerRequestUs(`${sim.apiUrl}${path}`, [sim.pid]);
    const [simulatorForwarded = Number.NaN, gatewayForwarded = Number.NaN] = await cpuPerRequestUs(
      subjectUrl,
      [sim.pid, gatewayProcess.pid],
    );

    console.log(
      `GitLab mode forwarding (${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}; enriched body ${body.length} bytes)`,
    );
    console.log(
      `  baseline direct GitLab (simulator) GET agent: ${base.rps.toFixed(0)} req/s, p99 ${base.p99Ms.toFixed(1)} ms, errors ${base.errors}`,
    );
    console.log(
      `  Kasmap forwarded GET agent?with_cluster_info=true: ${subject.rps.toFixed(0)} req/s, p99 ${subject.p99Ms.toFixed(1)} ms, errors ${subject.errors}`,
    );
    console.log(
      `  CPU per request: direct — simulator ${simulatorDirect.toFixed(0)} µs; through Kasmap — simulator ${simulatorForwarded.toFixed(0)} µs + gateway ${gatewayForwarded.toFixed(0)} µs ` +
        `(were the CPUs theirs alone and the limit, the ratio could not pass ${(simulatorDirect / (simulatorForwarded + gatewayForwarded)).toFixed(2)}); load average ${loadavg()
          .map((l) => l.toFixed(2))
          .join(" ")}`,
    );
    console.log(
      `${ratio >= GOAL && subject.errors === 0 ? "PASS" : "MISS"} gitlab-forwarding ${ratio.toFixed(2)} (goal ${GOAL})`,
    );
  } finally {
    for (const stop of stops) await stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await runGitLabForwardingBench();
  process.exit(0);
}
