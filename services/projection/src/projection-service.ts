import { hostname } from "node:os";
import { ensureStreams } from "@kasmap/bus";
import { createDatabase, migrateReadModel, type ReadModelDatabase } from "@kasmap/db";
import { createLogger } from "@kasmap/logging";
import type { DatabaseServiceOptions } from "@kasmap/runtime/database-service";
import { instrumentBus, Registry } from "@kasmap/runtime/metrics";
import type { Kysely } from "kysely";
import { ALERT_RELAY_INTERVAL_MS, createAlertPublisher } from "./alerts/alert-outbox.ts";
import { indexUnindexedSnapshots } from "./apply/cluster-addresses.ts";
import { startDisconnectionSweeper } from "./audit/agent-disconnections.ts";
import { type LeasedProjection, startLeasedProjection } from "./partitions/leased-projection.ts";
import { projectionUnits } from "./partitions/projection-units.ts";
import { type CollectorLimits, DEFAULT_COLLECTOR_LIMITS } from "./projection-env.ts";
import { registerProjectionMetrics } from "./projection-metrics.ts";
import { deleteLegacyDurableConsumers } from "./rebuild/legacy-durable-consumers.ts";

/** The read model lives in schema `read_model` of the database at `databaseUrl`. */
export type ProjectionServiceOptions = DatabaseServiceOptions & {
  /** Limits on collector events (issue 7.6); defaults: `DEFAULT_COLLECTOR_LIMITS`. */
  collectorLimits?: CollectorLimits;
  /**
   * Partitions of each agent-scoped stream (cluster, heartbeat), the same on every replica
   * (issue 12). @default 1: one consumer per stream, as a single replica needs.
   */
  partitions?: number;
  /** Names this replica in logs and `pg_stat_activity`. @default `<hostname>-<pid>` */
  replicaId?: string;
  /** How often the replica re-balances and takes over free leases, ms. @default 1,000 */
  leasePollMs?: number;
  /**
   * How long this replica's process may stop running before PostgreSQL ends its lease session
   * and its open apply transactions, so the others take its units over, ms. @default 10,000
   */
  leaseTtlMs?: number;
};

export type ProjectionService = {
  /** The units (streams, or partitions of them) this replica runs now, e.g. `projection-cluster[2/3]`. */
  held(): string[];
  /**
   * Stops the consumers after the batch in hand and the disconnection sweeper, then the alert
   * relay (after one last publish), then closes the database pool.
   */
  stop(): Promise<void>;
};

/** Most connections of a replica's pool: one per unit it may run, two more for the rest. */
const MAX_POOL_SIZE = 24;

/** Opens the read model database with a pool sized for the consumers of every unit. */
function openReadModel(
  databaseUrl: string,
  options: Pick<
    ProjectionServiceOptions,
    "statementTimeoutMs" | "connectTimeoutMs" | "partitions" | "replicaId"
  > = {},
): Kysely<ReadModelDatabase> {
  const timeouts = options;
  return createDatabase<ReadModelDatabase>({
    url: databaseUrl,
    ...(timeouts.statementTimeoutMs === undefined ? {} : { statementTimeoutMs: timeouts.statementTimeoutMs }),
    ...(timeouts.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: timeouts.connectTimeoutMs }),
    max: Math.min(MAX_POOL_SIZE, Math.max(6, 2 + projectionUnits(options.partitions ?? 1).length)),
    applicationName: options.replicaId ? `kasmap-projection:${options.replicaId}` : "kasmap-projection",
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
 * Starts a projection replica: ensures the streams, migrates the read model, indexes the
 * addresses of snapshots that have none (`indexUnindexedSnapshots`), deletes durable consumers
 * left by older versions, then runs its share of the projection's units under leases
 * (`startLeasedProjection`): one checkpointed consumer per stream (`projection-registry`,
 * `projection-authz`, `projection-cluster`, `projection-heartbeat`), the cluster and heartbeat
 * streams split into `partitions` by agent. Each resumes after the position stored with the rows
 * it applied. A lone replica runs every unit; further replicas share them, and take over those of
 * one that dies. Every 30 s it also records the agents whose heartbeats stopped
 * (`startDisconnectionSweeper`), and publishes the alerts the consumers queued in the alert
 * outbox every `ALERT_RELAY_INTERVAL_MS` (catching up on start); both are safe on every replica
 * (the audit rows are keyed by event id, the relay publishes under an advisory lock). Its
 * metrics (`registerProjectionMetrics`, `instrumentBus`) go to `options.metrics`.
 */
export async function startProjectionService(options: ProjectionServiceOptions): Promise<ProjectionService> {
  const logger = options.logger ?? createLogger("projection");
  const replicaId = options.replicaId ?? `${hostname()}-${process.pid}`;
  const partitions = options.partitions ?? 1;
  const db = await openMigratedReadModel({ ...options, replicaId, partitions });
  const registry = options.metrics ?? new Registry();
  const metrics = registerProjectionMetrics(registry, { db, bus: options.bus, partitions });
  const stopBusMetrics = instrumentBus(registry, options.bus, "projection");
  let leased: LeasedProjection;
  try {
    const indexed = await indexUnindexedSnapshots(db);
    if (indexed > 0) logger.info({ agents: indexed }, "indexed cluster addresses of existing snapshots");
    await deleteLegacyDurableConsumers(options.bus);
    leased = await startLeasedProjection({
      bus: options.bus,
      db,
      logger,
      limits: options.collectorLimits ?? DEFAULT_COLLECTOR_LIMITS,
      metrics,
      databaseUrl: options.databaseUrl,
      partitions,
      replicaId,
      ...(options.leasePollMs === undefined ? {} : { leasePollMs: options.leasePollMs }),
      ...(options.leaseTtlMs === undefined ? {} : { leaseTtlMs: options.leaseTtlMs }),
    });
  } catch (error) {
    stopBusMetrics();
    await db.destroy();
    throw error;
  }
  const sweeper = startDisconnectionSweeper(db, options.bus, logger);
  const alertRelay = createAlertPublisher(db, options.bus, logger, {
    onPublished: metrics.alertPublished,
  }).startRelay(ALERT_RELAY_INTERVAL_MS);
  logger.info({ replica: replicaId, partitions, units: leased.held() }, "projection started");
  return {
    held: () => leased.held(),
    async stop() {
      await Promise.all([sweeper.stop(), leased.stop()]);
      await alertRelay.stop();
      stopBusMetrics();
      await db.destroy();
      logger.info({ replica: replicaId }, "projection stopped");
    },
  };
}
