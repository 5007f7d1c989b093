import { type Bus, connectBus, ensureStreams } from "@kasmap/bus";
import type { Topology } from "@kasmap/contracts";
import { afterAll, beforeAll } from "vitest";
import {
  createTestDatabase,
  createTestTopology,
  type TestDatabase,
  testNatsUrl,
} from "./test-environment.ts";

/**
 * One integration-test file's world on the shared servers: its own stream names (streams
 * ensured), a bus connected to them, by default its own database, and one verb that removes
 * it all again. Kept apart from `./harness` because it needs @kasmap/bus.
 */
export type TestBusWorld = {
  topology: Topology;
  bus: Bus;
  /** Deletes the world's streams, closes the bus and drops the database (if it has one). */
  teardown(): Promise<void>;
};

export type TestWorld = TestBusWorld & { database: TestDatabase };

export type TestWorldOptions = {
  /** The NATS connection name. */
  name: string;
  /** Stream names to use instead of a fresh test topology. */
  topology?: Topology;
};

export function createTestWorld(options: TestWorldOptions & { database?: true }): Promise<TestWorld>;
export function createTestWorld(options: TestWorldOptions & { database: false }): Promise<TestBusWorld>;
export async function createTestWorld(
  options: TestWorldOptions & { database?: boolean },
): Promise<TestWorld | TestBusWorld> {
  const topology = options.topology ?? createTestTopology();
  const database = options.database === false ? undefined : await createTestDatabase();
  const bus = await connectBus({ url: testNatsUrl(), name: options.name, topology });
  await ensureStreams(bus);
  const teardown = async () => {
    for (const stream of topology.streams) await bus.jsm.streams.delete(stream.name).catch(() => {});
    await bus.close();
    await database?.drop();
  };
  return database ? { topology, bus, database, teardown } : { topology, bus, teardown };
}

/**
 * The world of one test file, the repository's one setup pattern: created in `beforeAll` (before
 * the file's own hooks, since it registers first) and torn down in `afterAll` (after the file's
 * own, which vitest runs in reverse). The answer is filled in when the world exists: read it
 * inside hooks and tests, never at import time (it is empty then).
 */
export function testWorldForFile(options: TestWorldOptions & { database?: true }): TestWorld;
export function testWorldForFile(options: TestWorldOptions & { database: false }): TestBusWorld;
export function testWorldForFile(
  options: TestWorldOptions & { database?: boolean },
): TestWorld | TestBusWorld {
  const world = {} as TestWorld;
  beforeAll(async () => {
    const created =
      options.database === false
        ? await createTestWorld({ ...options, database: false })
        : await createTestWorld({ ...options, database: true });
    Object.assign(world, created);
  });
  afterAll(async () => {
    await world.teardown?.();
  });
  return world;
}
