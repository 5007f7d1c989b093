import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { connectBus, logStartRetry, requestAgentAuthentication, retryAtStart } from "@kasmap/bus";
import { createTopology } from "@kasmap/contracts";
import { createLogger, REDACTED_PATHS } from "@kasmap/logging";
import { EXIT_CODES, runService, UsageError } from "@kasmap/runtime";
import { createProgramRegistry, instrumentBus, serveMetricsIfConfigured } from "@kasmap/runtime/metrics";
import { pino } from "pino";
import { acquireAgentLease } from "./agent-lease.ts";
import { startCollector } from "./collector.ts";
import { collectorIdentity } from "./collector-identity.ts";
import { registerCollectorMetrics } from "./collector-metrics.ts";
import { parseCollectorConfig, USAGE } from "./config.ts";
import { loadKubeConfig, readDownwardApi } from "./kube/kube-config.ts";

/** The collector package's version, reported in heartbeats (`connections[].version`). */
const COLLECTOR_VERSION = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;

/**
 * `kasmap-collector`: resolves its agent from the agent token (as agentk does with KAS), then
 * watches the cluster and publishes snapshots and heartbeats. `--once` prints the derived
 * cluster info as JSON and exits, publishing nothing.
 */
await runService({
  name: "kasmap-collector",
  usage: USAGE,
  config() {
    try {
      return parseCollectorConfig(process.argv.slice(2), process.env);
    } catch (error) {
      throw new UsageError((error as Error).message, { cause: error });
    }
  },
  // With --once, stdout carries only the JSON result; warnings go to stderr.
  logger: (config) =>
    config.once
      ? pino(
          {
            level: "warn",
            base: { service: "collector" },
            redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
          },
          pino.destination(2),
        )
      : createLogger("collector", config.logLevel),
  async run(config, logger) {
    const { kubeConfig, connection } = loadKubeConfig(config.kubeconfigPath);
    const downward = readDownwardApi(config.podIp, config.podNamespace);
    const identity = collectorIdentity(
      {
        podName: config.podName,
        nodeName: config.nodeName,
        podIp: config.podIp,
        namespace: downward.namespace,
        hostname: hostname(),
        inKubernetes: config.inKubernetes,
        version: COLLECTOR_VERSION,
        commit: config.commit,
      },
      randomUUID,
    );
    const base = {
      kubeConfig,
      connection,
      downward,
      identity,
      configured: {
        ...(config.clusterName ? { clusterName: config.clusterName } : {}),
        ...(config.clusterContext ? { clusterContext: config.clusterContext } : {}),
      },
      coalesceMs: config.coalesceMs,
      heartbeatMs: config.heartbeatMs,
      settleTimeoutMs: config.settleTimeoutMs,
      logger,
    };

    if (config.once) {
      const collector = startCollector(base);
      // Rejects when nodes or /version never answered: the fatal path prints why, exit 1.
      const facts = await collector.firstFacts.finally(() => collector.stop());
      // Exit only once stdout is flushed: a large cluster's JSON outlives one pipe buffer.
      process.stdout.write(`${JSON.stringify(facts, null, 2)}\n`, () => process.exit(EXIT_CODES.ok));
      return undefined;
    }

    const registry = createProgramRegistry();
    const metrics = registerCollectorMetrics(registry);
    const metricsServer = await serveMetricsIfConfigured(registry, config.metrics, logger);
    const topology = createTopology(config.topologyRoot);
    // NATS may come up after the collector (a cluster restart): wait for it, saying so.
    const bus = await retryAtStart(
      "NATS",
      () => connectBus({ url: config.natsUrl, name: "kasmap-collector", topology, ...config.natsAuth }),
      logStartRetry(logger),
    );
    // The lease presents the token again before authz's answer runs out (issue 9), so a token
    // revoked in GitLab or Kasmap stops this collector within the lease; a refusal at start throws.
    const lease = await acquireAgentLease({
      authenticate: async () =>
        (await requestAgentAuthentication(bus, { token: config.agentToken ?? "" })).result,
      logger,
    });
    logger.info(
      { agent_id: lease.agentId, server: connection.server, collector_id: identity.collectorId },
      "collector authenticated as agent",
    );
    const stopBusMetrics = instrumentBus(registry, bus, "collector");
    const collector = startCollector({
      ...base,
      publish: { bus, agentId: lease.agentId, mayPublish: () => lease.current },
      metrics,
    });
    async function stop(): Promise<void> {
      await collector.stop();
      lease.stop();
      stopBusMetrics();
      await bus.close();
      await metricsServer.stop();
    }
    // Refused at a renewal: the token is no longer valid, so the collector ends (exit 1, as when
    // it is refused at start); restarting it would be refused again.
    void lease.refused.then(async (refusal) => {
      await stop();
      logger.fatal(
        { code: refusal.code, reason: refusal.message },
        "kasmap-collector stopped: its agent token was refused",
      );
      process.exit(EXIT_CODES.failed);
    });
    return { stop };
  },
});
