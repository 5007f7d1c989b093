import { connectServiceBus } from "@kasmap/bus";
import { parseEnv } from "@kasmap/contracts";
import { createLogger } from "@kasmap/logging";
import { runService } from "@kasmap/runtime";
import { createProgramRegistry } from "@kasmap/runtime/metrics";
import { listenWhileStarting } from "./http/starting-server.ts";
import { GatewayEnvSchema, gatewayOptionsFromEnv, startGateway } from "./index.ts";

/** Runs the HTTP gateway until SIGTERM/SIGINT. */
await runService({
  name: "gateway",
  config: () => parseEnv(GatewayEnvSchema),
  logger: (env) => createLogger("gateway", env.LOG_LEVEL),
  async run(env, logger) {
    // The database is not needed to start: its pool connects lazily, readiness reports it and
    // requests answer 503 until it is back. NATS is, for the change notices that keep caches true.
    // Until then a stand-in answers on the port, so readiness can say what the gateway waits for.
    const starting = await listenWhileStarting(env.KASMAP_HTTP_PORT, env.KASMAP_HTTP_HOST);
    const { bus, natsWarnings } = await connectServiceBus(env, "kasmap-gateway", logger, (retry) =>
      starting.report(retry),
    );
    await starting.close();
    const gateway = await startGateway({
      ...gatewayOptionsFromEnv(env),
      bus,
      databaseUrl: env.DATABASE_URL,
      logger,
      natsWarnings,
      // Served at the gateway's own GET /metrics, with the process metrics.
      metrics: createProgramRegistry(),
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
