import { connectServiceBus, logStartRetry, retryAtStart } from "@kasmap/bus";
import { parseEnv } from "@kasmap/contracts";
import { checkDatabaseReachable } from "@kasmap/db";
import { createLogger } from "@kasmap/logging";
import { runService } from "@kasmap/runtime";
import { AuthzEnvSchema, startAuthzService } from "./index.ts";

/** Runs the authz service until SIGTERM/SIGINT. */
await runService({
  name: "authz",
  config: () => parseEnv(AuthzEnvSchema),
  logger: (env) => createLogger("authz", env.LOG_LEVEL),
  async run(env, logger) {
    const { bus } = await connectServiceBus(env, "kasmap-authz", logger);
    await retryAtStart("PostgreSQL", () => checkDatabaseReachable(env.DATABASE_URL), logStartRetry(logger));
    const service = await startAuthzService({
      bus,
      databaseUrl: env.DATABASE_URL,
      statementTimeoutMs: env.KASMAP_DB_STATEMENT_TIMEOUT_MS,
      connectTimeoutMs: env.KASMAP_DB_CONNECT_TIMEOUT_MS,
      logger,
      gitlabMode: env.KASMAP_GITLAB_URL !== undefined,
      ...(env.KASMAP_ADMIN_TOKEN ? { adminToken: env.KASMAP_ADMIN_TOKEN } : {}),
    });
    return {
      async stop() {
        await service.stop();
        await bus.close();
      },
    };
  },
});
