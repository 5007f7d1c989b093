import { type Bus, ensureStreams } from "@kasmap/bus";
import {
  createDatabase,
  migrateSchema,
  READ_MODEL_SCHEMA,
  type ReadModelDatabase,
  readModelMigrations,
} from "@kasmap/db";
import { createLogger, type Logger } from "@kasmap/logging";
import type { Kysely } from "kysely";
import { indexUnindexedSnapshots } from "./cluster-addresses.ts";
import { PROJECTION_CONSUMERS, startProjectionConsumer } from "./projection-consumer.ts";

export type ProjectionServiceOptions = {
  bus: Bus;
  /** `postgres://user@host:port/db`; the read model lives in its schema `read_model`. */
  databaseUrl: string;
  logger?: Logger;
};

export type ProjectionService = {
  /** Stops the consumers after the message in hand, then closes the database pool. */
  stop(): Promise<void>;
};

/** Opens the read model database with a pool sized for the four consumers. */
export function openReadModel(databaseUrl: string): Kysely<ReadModelDatabase> {
  return createDatabase<ReadModelDatabase>({
    url: databaseUrl,
    max: 6,
    applicationName: "kasmap-projection",
  });
}

/**
 * Starts the projection: ensures the streams, migrates the read model, indexes the addresses
 * of snapshots that have none (`indexUnindexedSnapshots`), then runs one durable
 * consumer per stream (`projection-registry`, `projection-authz`, `projection-cluster`,
 * `projection-heartbeat`). Each resumes after the last message it acknowledged; positions in
 * the read model make a redelivery change nothing. Run one replica: two replicas sharing a
 * durable would apply one stream's messages concurrently, out of order.
 */
export async function startProjectionService(options: ProjectionServiceOptions): Promise<ProjectionService> {
  const logger = options.logger ?? createLogger("projection");
  await ensureStreams(options.bus);
  const db = openReadModel(options.databaseUrl);
  try {
    await migrateSchema(db, READ_MODEL_SCHEMA, readModelMigrations);
    const indexed = await indexUnindexedSnapshots(db);
    if (indexed > 0) logger.info({ agents: indexed }, "indexed cluster addresses of existing snapshots");
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const consumers = PROJECTION_CONSUMERS.map((declaration) =>
    startProjectionConsumer(options.bus, db, logger, declaration),
  );
  logger.info({ consumers: PROJECTION_CONSUMERS.map((c) => c.durable) }, "projection started");
  return {
    async stop() {
      await Promise.all(consumers.map((consumer) => consumer.stop()));
      await db.destroy();
      logger.info("projection stopped");
    },
  };
}
