import {
  acceptsAnonymousClients,
  anonymousAccessWarning,
  connectBus,
  logStartRetry,
  natsClientAuthFromEnv,
  retryAtStart,
} from "@kasmap/bus";
import { createTopology, parseEnv } from "@kasmap/contracts";
import { checkDatabaseReachable } from "@kasmap/db";
import { createLogger } from "@kasmap/logging";
import { runService } from "@kasmap/runtime";
import {
  collectorLimitsFromEnv,
  ProjectionEnvSchema,
  rebuildReadModel,
  startProjectionService,
} from "./index.ts";

/**
 * `tsx services/projection/src/main.ts [--rebuild]`: runs the projection until SIGTERM or
 * SIGINT. `--rebuild` first empties the read model and replays every stream from the start.
 */
await runService({
  name: "projection",
  config: () => parseEnv(ProjectionEnvSchema),
  logger: (env) => createLogger("projection", env.LOG_LEVEL),
  async run(env, logger) {
    const topology = createTopology(env.KASMAP_TOPOLOGY_ROOT, env.KASMAP_AUDIT_RETENTION_DAYS);
    const natsAuth = natsClientAuthFromEnv(env);
    const bus = await retryAtStart(
      "NATS",
      () => connectBus({ url: env.NATS_URL, name: "kasmap-projection", topology, ...natsAuth }),
      logStartRetry(logger),
    );
    // A server that lets anyone in is usable but must be noticed (issue 7, item 5).
    if (await acceptsAnonymousClients(env.NATS_URL, natsAuth.tls))
      logger.warn({ nats_url: env.NATS_URL }, anonymousAccessWarning(env.NATS_URL));
    await retryAtStart("PostgreSQL", () => checkDatabaseReachable(env.DATABASE_URL), logStartRetry(logger));
    const options = {
      bus,
      databaseUrl: env.DATABASE_URL,
      logger,
      statementTimeoutMs: env.KASMAP_DB_STATEMENT_TIMEOUT_MS,
      connectTimeoutMs: env.KASMAP_DB_CONNECT_TIMEOUT_MS,
      collectorLimits: collectorLimitsFromEnv(env),
    };
    const service = process.argv.includes("--rebuild")
      ? await rebuildReadModel(options)
      : await startProjectionService(options);
    return {
      async stop() {
        await service.stop();
        await bus.close();
      },
    };
  },
});
