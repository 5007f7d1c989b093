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
import { AuthzEnvSchema, startAuthzService } from "./index.ts";

/** Runs the authz service until SIGTERM/SIGINT. */
await runService({
  name: "authz",
  config: () => parseEnv(AuthzEnvSchema),
  logger: (env) => createLogger("authz", env.LOG_LEVEL),
  async run(env, logger) {
    const topology = createTopology(env.KASMAP_TOPOLOGY_ROOT, env.KASMAP_AUDIT_RETENTION_DAYS);
    const natsAuth = natsClientAuthFromEnv(env);
    const bus = await retryAtStart(
      "NATS",
      () => connectBus({ url: env.NATS_URL, name: "kasmap-authz", topology, ...natsAuth }),
      logStartRetry(logger),
    );
    // A server that lets anyone in is usable but must be noticed (issue 7, item 5).
    if (await acceptsAnonymousClients(env.NATS_URL, natsAuth.tls))
      logger.warn({ nats_url: env.NATS_URL }, anonymousAccessWarning(env.NATS_URL));
    await retryAtStart("PostgreSQL", () => checkDatabaseReachable(env.DATABASE_URL), logStartRetry(logger));
    const service = await startAuthzService({
      bus,
      databaseUrl: env.DATABASE_URL,
      statementTimeoutMs: env.KASMAP_DB_STATEMENT_TIMEOUT_MS,
      connectTimeoutMs: env.KASMAP_DB_CONNECT_TIMEOUT_MS,
      logger,
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
