import { connectServiceBus, logStartRetry, retryAtStart } from "@kasmap/bus";
import { parseEnv } from "@kasmap/contracts";
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
    const { bus } = await connectServiceBus(env, "kasmap-projection", logger);
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
