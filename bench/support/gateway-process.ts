/**
 * A Kasmap gateway in a process of its own, for benches: in production the gateway never shares
 * an event loop with the projection or authz, so the bench must not make it (and its CPU can be
 * measured alone). Reads the read model
 * of `BENCH_DATABASE_URL` and follows the notices of topology `BENCH_TOPOLOGY_ROOT`; prints
 * `{"url":…}` when listening and runs until its stdin closes.
 *
 * Run by `startGatewayProcess()`.
 */
import { fileURLToPath, pathToFileURL } from "node:url";
import { connectBus } from "@kasmap/bus";
import { createTopology } from "@kasmap/contracts";
import { startGateway } from "@kasmap/gateway-service";
import { createLogger } from "@kasmap/logging";
import { type BenchProcess, startBenchProcess, untilStdinCloses } from "./bench-process.ts";

export function startGatewayProcess(options: {
  natsUrl: string;
  databaseUrl: string;
  topologyRoot: string;
  /** GitLab mode against this GitLab (300 s permission TTL); absent: standalone. */
  gitlabUrl?: string;
  /** Node options of the gateway's process, e.g. `["--cpu-prof", "--cpu-prof-dir=…"]`. */
  nodeOptions?: readonly string[];
}): Promise<BenchProcess<{ url: string }>> {
  return startBenchProcess(fileURLToPath(import.meta.url), {
    env: {
      BENCH_NATS_URL: options.natsUrl,
      BENCH_DATABASE_URL: options.databaseUrl,
      BENCH_TOPOLOGY_ROOT: options.topologyRoot,
      ...(options.gitlabUrl ? { BENCH_GITLAB_URL: options.gitlabUrl } : {}),
    },
    ...(options.nodeOptions ? { nodeOptions: options.nodeOptions } : {}),
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const env = (name: string) => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
  };
  const bus = await connectBus({
    url: env("BENCH_NATS_URL"),
    name: "bench-gateway",
    topology: createTopology(env("BENCH_TOPOLOGY_ROOT")),
  });
  const gitlabUrl = process.env.BENCH_GITLAB_URL;
  const gateway = await startGateway({
    bus,
    databaseUrl: env("BENCH_DATABASE_URL"),
    logger: createLogger("bench-gateway", "silent"),
    ...(gitlabUrl ? { gitlab: { url: gitlabUrl, permissionTtlSeconds: 300, timeoutMs: 10_000 } } : {}),
  });
  process.stdout.write(`${JSON.stringify({ url: gateway.url })}\n`);
  await untilStdinCloses();
  await gateway.stop();
  await bus.close();
  process.exit(0);
}
