import {
  acceptsAnonymousClients,
  anonymousAccessWarning,
  connectBus,
  ensureStreams,
  logStartRetry,
  natsClientAuthFromEnv,
  retryAtStart,
} from "@kasmap/bus";
import { CommonEnvSchema, createTopology, parseEnv } from "@kasmap/contracts";
import { checkDatabaseReachable } from "@kasmap/db";
import { createLogger } from "@kasmap/logging";
import { z } from "zod";
import { startAuthzService } from "./index.ts";

const AuthzEnvSchema = CommonEnvSchema.extend({
  /** Token of the bootstrap admin `root`; unset = no admin is created. */
  KASMAP_ADMIN_TOKEN: z.string().min(20).optional(),
  KASMAP_AGENT_AUTHORIZATION_INCLUDE_DESCENDANTS: z
    .enum(["true", "false", "1", "0"])
    .default("true")
    .transform((v) => v === "true" || v === "1"),
});

/** Runs the authz service until SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const env = parseEnv(AuthzEnvSchema);
  const logger = createLogger("authz", env.LOG_LEVEL);
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
  await ensureStreams(bus);
  await retryAtStart("PostgreSQL", () => checkDatabaseReachable(env.DATABASE_URL), logStartRetry(logger));
  const service = await startAuthzService({
    bus,
    databaseUrl: env.DATABASE_URL,
    statementTimeoutMs: env.KASMAP_DB_STATEMENT_TIMEOUT_MS,
    connectTimeoutMs: env.KASMAP_DB_CONNECT_TIMEOUT_MS,
    includeDescendants: env.KASMAP_AGENT_AUTHORIZATION_INCLUDE_DESCENDANTS,
    logger,
    ...(env.KASMAP_ADMIN_TOKEN ? { adminToken: env.KASMAP_ADMIN_TOKEN } : {}),
  });
  const shutdown = async (signal: string) => {
    logger.info({ signal }, "stopping");
    await service.stop();
    await bus.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
