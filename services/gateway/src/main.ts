import {
  acceptsAnonymousClients,
  anonymousAccessWarning,
  connectBus,
  logStartRetry,
  natsClientAuthFromEnv,
  retryAtStart,
} from "@kasmap/bus";
import { createTopology, parseEnv } from "@kasmap/contracts";
import { createLogger } from "@kasmap/logging";
import { runService } from "@kasmap/runtime";
import { listenWhileStarting } from "./http/starting-server.ts";
import { GatewayEnvSchema, gatewayOptionsFromEnv, startGateway } from "./index.ts";

/** Runs the HTTP gateway until SIGTERM/SIGINT. */
await runService({
  name: "gateway",
  config: () => parseEnv(GatewayEnvSchema),
  logger: (env) => createLogger("gateway", env.LOG_LEVEL),
  async run(env, logger) {
    const natsAuth = natsClientAuthFromEnv(env);
    const topology = createTopology(env.KASMAP_TOPOLOGY_ROOT, env.KASMAP_AUDIT_RETENTION_DAYS);
    // The database is not needed to start: its pool connects lazily, readiness reports it and
    // requests answer 503 until it is back. NATS is, for the change notices that keep caches true.
    // Until then a stand-in answers on the port, so readiness can say what the gateway waits for.
    const starting = await listenWhileStarting(env.KASMAP_HTTP_PORT, env.KASMAP_HTTP_HOST);
    const logRetry = logStartRetry(logger);
    const bus = await retryAtStart(
      "NATS",
      () => connectBus({ url: env.NATS_URL, name: "kasmap-gateway", topology, ...natsAuth }),
      (retry) => {
        logRetry(retry);
        starting.report(retry);
      },
    );
    const natsWarnings = (await acceptsAnonymousClients(env.NATS_URL, natsAuth.tls))
      ? [anonymousAccessWarning(env.NATS_URL)]
      : [];
    for (const warning of natsWarnings) logger.warn({ nats_url: env.NATS_URL }, warning);
    await starting.close();
    const gateway = await startGateway({
      ...gatewayOptionsFromEnv(env),
      bus,
      databaseUrl: env.DATABASE_URL,
      logger,
      natsWarnings,
    });
    logger.info({ url: gateway.url }, "gateway listening");
    return {
      async stop() {
        await gateway.stop();
        await bus.close();
      },
    };
  },
});
