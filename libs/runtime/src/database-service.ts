import { type Bus, connectServiceBus, logStartRetry, retryAtStart } from "@kasmap/bus";
import { type CommonEnv, type MetricsEnv, parseEnv } from "@kasmap/contracts";
import { checkDatabaseReachable } from "@kasmap/db";
import { createLogger, type Logger } from "@kasmap/logging";
import type { z } from "zod";
import { createProgramRegistry, type Registry } from "./metrics/metrics-registry.ts";
import { serveMetricsIfConfigured } from "./metrics/metrics-server.ts";
import { runService, type StopHandle } from "./run-service.ts";

/**
 * What every service on NATS that keeps its state in PostgreSQL (authz, projection) is started
 * with: the options its `start…Service` shares with the others.
 */
export type DatabaseServiceOptions = {
  bus: Bus;
  /** `postgres://user@host:port/db`; the service keeps its state in its own schema there. */
  databaseUrl: string;
  /** PostgreSQL `statement_timeout` and connection timeout of the pool, ms (`createDatabase`). */
  statementTimeoutMs?: number;
  connectTimeoutMs?: number;
  logger?: Logger;
  /**
   * Where the service registers its metrics (`kasmap_<service>_…`, and its bus's with
   * `instrumentBus`); default a registry of its own, which nothing serves.
   */
  metrics?: Registry;
};

/** A service on NATS and PostgreSQL, as its `main.ts` declares it. */
export type DatabaseServiceProgram<S extends z.ZodType<CommonEnv & MetricsEnv>> = {
  /** The logger's `service`; the NATS client is named `kasmap-<name>`. */
  name: string;
  /** Its environment (`CommonEnvSchema`, `MetricsEnvSchema` and its own variables). */
  envSchema: S;
  /** Starts the service with the connections made; `env` for its own variables. */
  start(options: DatabaseServiceOptions, env: z.output<S>): Promise<StopHandle>;
};

/**
 * `runService` for a service on NATS and PostgreSQL: parses its environment, logs at
 * `LOG_LEVEL`, connects to NATS with the environment's credentials and waits until PostgreSQL
 * answers (both retried with backoff, each retry logged), then starts it with the program's
 * metrics registry (`createProgramRegistry`), served on `KASMAP_METRICS_PORT` when set.
 * SIGINT/SIGTERM stops the service, then closes the bus and the metrics server.
 */
export async function runDatabaseService<S extends z.ZodType<CommonEnv & MetricsEnv>>(
  program: DatabaseServiceProgram<S>,
): Promise<void> {
  await runService({
    name: program.name,
    config: () => parseEnv(program.envSchema),
    logger: (env) => createLogger(program.name, env.LOG_LEVEL),
    async run(env, logger) {
      const metrics = createProgramRegistry();
      const metricsServer = await serveMetricsIfConfigured(metrics, env, logger);
      const { bus } = await connectServiceBus(env, `kasmap-${program.name}`, logger);
      await retryAtStart("PostgreSQL", () => checkDatabaseReachable(env.DATABASE_URL), logStartRetry(logger));
      const service = await program.start(
        {
          bus,
          databaseUrl: env.DATABASE_URL,
          statementTimeoutMs: env.KASMAP_DB_STATEMENT_TIMEOUT_MS,
          connectTimeoutMs: env.KASMAP_DB_CONNECT_TIMEOUT_MS,
          logger,
          metrics,
        },
        env,
      );
      return {
        async stop() {
          await service.stop();
          await bus.close();
          await metricsServer.stop();
        },
      };
    },
  });
}
