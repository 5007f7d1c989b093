import { ensureStreams } from "@kasmap/bus";
import { createDatabase, migrateReadModel, type ReadModelDatabase } from "@kasmap/db";
import { createLogger } from "@kasmap/logging";
import type { DatabaseServiceOptions } from "@kasmap/runtime/database-service";
import { instrumentBus, Registry } from "@kasmap/runtime/metrics";
import type { Kysely } from "kysely";
import { ALERT_RELAY_INTERVAL_MS, createAlertPublisher } from "./alerts/alert-outbox.ts";
import { indexUnindexedSnapshots } from "./apply/cluster-addresses.ts";
import { startDisconnectionSweeper } from "./audit/agent-disconnections.ts";
import { PROJECTION_CONSUMERS, startProjectionConsumer } from "./consume/projection-consumer.ts";
import { type CollectorLimits, DEFAULT_COLLECTOR_LIMITS } from "./projection-env.ts";
import { registerProjectionMetrics } from "./projection-metrics.ts";
import { deleteLegacyDurableConsumers } from "./rebuild/legacy-durable-consumers.ts";

/** The read model lives in schema `read_model` of the database at `databaseUrl`. */
export type ProjectionServiceOptions = DatabaseServiceOptions & {
  /** Limits on collector events (issue 7.6); defaults: `DEFAULT_COLLECTOR_LIMITS`. */
  collectorLimits?: CollectorLimits;
};

export type ProjectionService = {
  /**
   * Stops the consumers after the batch in hand and the disconnection sweeper, then the alert
   * relay (after one last publish), then closes the database pool.
   */
  stop(): Promise<void>;
};

/** Opens the read model database with a pool sized for the four consumers. */
function openReadModel(
  databaseUrl: string,
  timeouts: Pick<ProjectionServiceOptions, "statementTimeoutMs" | "connectTimeoutMs"> = {},
): Kysely<ReadModelDatabase> {
  return createDatabase<ReadModelDatabase>({
    url: databaseUrl,
    ...(timeouts.statementTimeoutMs === undefined ? {} : { statementTimeoutMs: timeouts.statementTimeoutMs }),
    ...(timeouts.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: timeouts.connectTimeoutMs }),
    max: 6,
    applicationName: "kasmap-projection",
  });
}

/**
 * Ensures the streams, opens the read model and migrates it: what the projection and its
 * rebuild do first. The pool is closed again when the migration fails.
 */
export async function openMigratedReadModel(
  options: ProjectionServiceOptions,
): Promise<Kysely<ReadModelDatabase>> {
  await ensureStreams(options.bus);
  const db = openReadModel(options.databaseUrl, options);
  try {
    await migrateReadModel(db);
    return db;
  } catch (error) {
    await db.destroy();
    throw error;
  }
}

/**
 * Starts the projection: ensures the streams, migrates the read model, indexes the addresses
 * of snapshots that have none (`indexUnindexedSnapshots`), deletes durable consumers left by
 * older versions, then runs one checkpointed consumer per stream (`projection-registry`,
 * `projection-authz`, `projection-cluster`, `projection-heartbeat`). Each resumes after the
 * position stored with the rows it applied. Every 30 s it also records the agents whose
 * heartbeats stopped (`startDisconnectionSweeper`), and publishes the alerts the consumers queued
 * in the alert outbox every `ALERT_RELAY_INTERVAL_MS` (catching up on start). Its metrics
 * (`registerProjectionMetrics`, `instrumentBus`) go to `options.metrics`. Run one replica: a second would apply the same
 * messages (the position lock and guard keep that harmless, but it is wasted work).
 */
export async function startProjectionService(options: ProjectionServiceOptions): Promise<ProjectionService> {
  const logger = options.logger ?? createLogger("projection");
  const db = await openMigratedReadModel(options);
  try {
    const indexed = await indexUnindexedSnapshots(db);
    if (indexed > 0) logger.info({ agents: indexed }, "indexed cluster addresses of existing snapshots");
    await deleteLegacyDurableConsumers(options.bus);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const registry = options.metrics ?? new Registry();
  const metrics = registerProjectionMetrics(registry, { db, bus: options.bus });
  const stopBusMetrics = instrumentBus(registry, options.bus, "projection");
  const consumers = PROJECTION_CONSUMERS.map((declaration) =>
    startProjectionConsumer(options.bus, db, logger, declaration, {
      limits: options.collectorLimits ?? DEFAULT_COLLECTOR_LIMITS,
      metrics,
    }),
  );
  const sweeper = startDisconnectionSweeper(db, logger);
  const alertRelay = createAlertPublisher(db, options.bus, logger, {
    onPublished: metrics.alertPublished,
  }).startRelay(ALERT_RELAY_INTERVAL_MS);
  logger.info({ consumers: PROJECTION_CONSUMERS.map((c) => c.durable) }, "projection started");
  return {
    async stop() {
      await Promise.all([sweeper.stop(), ...consumers.map((consumer) => consumer.stop())]);
      await alertRelay.stop();
      stopBusMetrics();
      await db.destroy();
      logger.info("projection stopped");
    },
  };
}
