import {
  acceptsAnonymousClients,
  anonymousAccessWarning,
  connectBus,
  logStartRetry,
  natsClientAuthFromEnv,
  retryAtStart,
} from "@kasmap/bus";
import { CommonEnvSchema, createTopology, parseEnv } from "@kasmap/contracts";
import { createLogger } from "@kasmap/logging";
import { z } from "zod";
import { DEFAULT_GATEWAY_LIMITS } from "./http/gateway-limits.ts";
import { listenWhileStarting } from "./http/starting-server.ts";
import { startGateway } from "./index.ts";

const GatewayEnvSchema = CommonEnvSchema.extend({
  KASMAP_HTTP_PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  KASMAP_HTTP_HOST: z.string().min(1).default("127.0.0.1"),
  KASMAP_HTTP_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(DEFAULT_GATEWAY_LIMITS.bodyLimitBytes),
  KASMAP_HTTP_REQUEST_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(DEFAULT_GATEWAY_LIMITS.requestTimeoutMs),
  KASMAP_HTTP_CONNECTION_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(DEFAULT_GATEWAY_LIMITS.connectionTimeoutMs),
  KASMAP_LIVE_CONNECTIONS_PER_USER: z.coerce
    .number()
    .int()
    .positive()
    .default(DEFAULT_GATEWAY_LIMITS.liveConnectionsPerUser),
  /** Readiness warns at this share of the account's JetStream storage limit (issue 7.6). */
  KASMAP_JETSTREAM_STORAGE_WARN_RATIO: z.coerce.number().gt(0).max(1).default(0.8),
  /** ... or past this many bytes, for an account without a storage limit. */
  KASMAP_JETSTREAM_STORAGE_WARN_BYTES: z.coerce.number().int().positive().optional(),
  /** How long a CI job's token works at most after the job was registered (default 24 h). */
  KASMAP_JOB_TOKEN_MAX_LIFETIME_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(31 * 24 * 3600)
    .default(24 * 3600),
});

const env = parseEnv(GatewayEnvSchema);
const logger = createLogger("gateway", env.LOG_LEVEL);
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
  bus,
  databaseUrl: env.DATABASE_URL,
  port: env.KASMAP_HTTP_PORT,
  host: env.KASMAP_HTTP_HOST,
  jobTokenMaxLifetimeMs: env.KASMAP_JOB_TOKEN_MAX_LIFETIME_SECONDS * 1000,
  logger,
  statementTimeoutMs: env.KASMAP_DB_STATEMENT_TIMEOUT_MS,
  connectTimeoutMs: env.KASMAP_DB_CONNECT_TIMEOUT_MS,
  bodyLimitBytes: env.KASMAP_HTTP_BODY_LIMIT_BYTES,
  requestTimeoutMs: env.KASMAP_HTTP_REQUEST_TIMEOUT_MS,
  connectionTimeoutMs: env.KASMAP_HTTP_CONNECTION_TIMEOUT_MS,
  liveConnectionsPerUser: env.KASMAP_LIVE_CONNECTIONS_PER_USER,
  natsWarnings,
  jetStreamStorageWarning: {
    ratio: env.KASMAP_JETSTREAM_STORAGE_WARN_RATIO,
    bytes: env.KASMAP_JETSTREAM_STORAGE_WARN_BYTES ?? null,
  },
});
logger.info({ url: gateway.url }, "gateway listening");

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    void gateway
      .stop()
      .then(() => bus.close())
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error({ err: error }, "stop failed");
        process.exit(1);
      });
  });
}
