import type { Bus } from "@kasmap/bus";
import type { Topology } from "@kasmap/contracts";
import { createDatabase, type ReadModelDatabase } from "@kasmap/db";
import { createLogger } from "@kasmap/logging";
import { readDeadLetters, testEvents } from "@kasmap/testing";
import { eventually, type TestDatabase } from "@kasmap/testing/harness";
import { createTestWorld } from "@kasmap/testing/world";
import type { StoredMsg } from "@nats-io/jetstream";
import type { Kysely } from "kysely";
import { afterAll, beforeAll } from "vitest";
import { PROJECTION_CONSUMERS } from "../consume/projection-consumer.ts";
import { readPositions } from "../consume/projection-positions.ts";
import { type ProjectionService, startProjectionService } from "../projection-service.ts";

/**
 * What a projection integration test file needs: its own database and topology, a bus, a
 * read-only handle on the read model for assertions, and the event builders. The service
 * is started by each test file (`startService`), so tests can stop, restart and rebuild it.
 */
export type ProjectionTestContext = {
  bus: Bus;
  topology: Topology;
  database: TestDatabase;
  db: Kysely<ReadModelDatabase>;
  events: ReturnType<typeof testEvents>;
  serviceOptions: { bus: Bus; databaseUrl: string; logger: ReturnType<typeof createLogger> };
  /** Resolves once every projection consumer's stored position reached its stream's last sequence. */
  caughtUp(): Promise<void>;
  /** Every dead letter stored so far, oldest first. */
  deadLetters(): Promise<StoredMsg[]>;
  /** The cluster facts of the agent's latest snapshot as the read model holds them; undefined before its first. */
  latestCluster(agentId: number): Promise<unknown>;
  /** Starts the projection service on this context; `dispose` stops it if it still runs. */
  startService(): Promise<ProjectionService>;
  /** Stops the service `startService` started, if it runs. */
  stopService(): Promise<void>;
  /** Stops the service, closes the read-model handle and tears the world down. */
  dispose(): Promise<void>;
};

export async function createProjectionTestContext(name: string): Promise<ProjectionTestContext> {
  const world = await createTestWorld({ name });
  const { topology, database, bus } = world;
  const db = createDatabase<ReadModelDatabase>({ url: database.url, max: 2 });
  const serviceOptions = { bus, databaseUrl: database.url, logger: createLogger("projection", "silent") };
  let service: ProjectionService | undefined;
  const stopService = async () => {
    await service?.stop();
    service = undefined;
  };
  return {
    bus,
    topology,
    database,
    db,
    events: testEvents(topology),
    serviceOptions,
    caughtUp: () => waitUntilCaughtUp(bus, db),
    deadLetters: () => readDeadLetters(bus),
    latestCluster: (agentId) => readLatestCluster(db, agentId),
    async startService() {
      service = await startProjectionService(serviceOptions);
      return service;
    },
    stopService,
    async dispose() {
      await stopService();
      await db.destroy();
      await world.teardown();
    },
  };
}

/**
 * The context of one test file (the repository's one setup pattern): created in `beforeAll`,
 * before the file's own hooks, with the service running when `running` is set, and disposed in
 * `afterAll`, after the file's own. Filled in when created: read it inside hooks and tests only.
 */
export function projectionContextForFile(
  name: string,
  options: { running?: boolean } = {},
): ProjectionTestContext {
  const ctx = {} as ProjectionTestContext;
  beforeAll(async () => {
    Object.assign(ctx, await createProjectionTestContext(name));
    if (options.running) await ctx.startService();
  });
  afterAll(async () => {
    await ctx.dispose?.();
  });
  return ctx;
}

async function readLatestCluster(db: Kysely<ReadModelDatabase>, agentId: number): Promise<unknown> {
  const snapshot = await db
    .selectFrom("read_model.cluster_snapshots")
    .select("cluster")
    .where("agent_id", "=", agentId)
    .executeTakeFirst();
  return snapshot?.cluster;
}

async function waitUntilCaughtUp(bus: Bus, db: Kysely<ReadModelDatabase>): Promise<void> {
  await eventually(async () => {
    const positions = await readPositions(db);
    for (const { stream, durable } of PROJECTION_CONSUMERS) {
      const info = await bus.jsm.streams.info(bus.topology.streamNames[stream]);
      const lastSeq = info.state.messages === 0 ? 0 : info.state.last_seq;
      if ((positions.get(durable)?.seq ?? 0) < lastSeq) return undefined;
    }
    return true;
  }, "projection caught up with every stream");
}
