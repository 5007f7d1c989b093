import { connectBus, logStartRetry, requestCommand, retryAtStart } from "@kasmap/bus";
import { createTopology } from "@kasmap/contracts";
import { createLogger, REDACTED_PATHS } from "@kasmap/logging";
import { pino } from "pino";
import { startCollector } from "./collector.ts";
import { parseCollectorConfig, USAGE } from "./config.ts";
import { loadKubeConfig, readDownwardApi } from "./kube/kube-config.ts";

/**
 * `kasmap-collector`: resolves its agent from the agent token (as agentk does with KAS), then
 * watches the cluster and publishes snapshots and heartbeats. `--once` prints the derived
 * cluster info as JSON and exits, publishing nothing.
 */
async function main(): Promise<void> {
  let config: ReturnType<typeof parseCollectorConfig>;
  try {
    config = parseCollectorConfig(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`kasmap-collector: ${(error as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  // With --once, stdout carries only the JSON result; warnings go to stderr.
  const logger = config.once
    ? pino(
        {
          level: "warn",
          base: { service: "collector" },
          redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
        },
        pino.destination(2),
      )
    : createLogger("collector", config.logLevel);
  const { kubeConfig, connection } = loadKubeConfig(config.kubeconfigPath);
  const base = {
    kubeConfig,
    connection,
    downward: readDownwardApi(config.podIp, config.podNamespace),
    configured: {
      ...(config.clusterName ? { clusterName: config.clusterName } : {}),
      ...(config.clusterContext ? { clusterContext: config.clusterContext } : {}),
    },
    coalesceMs: config.coalesceMs,
    heartbeatMs: config.heartbeatMs,
    logger,
  };

  if (config.once) {
    const collector = startCollector(base);
    const facts = await collector.firstFacts;
    await collector.stop();
    // Exit only once stdout is flushed: a large cluster's JSON outlives one pipe buffer.
    process.stdout.write(`${JSON.stringify(facts, null, 2)}\n`, () => process.exit(0));
    return;
  }

  const topology = createTopology(config.topologyRoot);
  // NATS may come up after the collector (a cluster restart): wait for it, saying so.
  const bus = await retryAtStart(
    "NATS",
    () => connectBus({ url: config.natsUrl, name: "kasmap-collector", topology, ...config.natsAuth }),
    logStartRetry(logger),
  );
  const { result: agent } = await requestCommand(bus, "agent_token.authenticate", {
    token: config.agentToken ?? "",
  });
  logger.info({ agent_id: agent.agent_id, server: connection.server }, "collector authenticated as agent");
  const collector = startCollector({ ...base, publish: { bus, agentId: agent.agent_id } });
  const shutdown = async () => {
    await collector.stop();
    await bus.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void shutdown());
  process.once("SIGTERM", () => void shutdown());
}

main().catch((error: unknown) => {
  process.stderr.write(`kasmap-collector: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
