import type { Bus } from "@kasmap/bus";
import type { Topology } from "@kasmap/contracts";
import { createDatabase, type ReadModelDatabase } from "@kasmap/db";
import { createLogger } from "@kasmap/logging";
import { testEvents } from "@kasmap/testing";
import { eventually, type TestDatabase } from "@kasmap/testing/harness";
import { createTestWorld } from "@kasmap/testing/world";
import type { StoredMsg } from "@nats-io/jetstream";
import type { Kysely } from "kysely";
import { PROJECTION_CONSUMERS } from "../consume/projection-consumer.ts";
import { readPositions } from "../consume/projection-positions.ts";

/**
 * What a projection integration test file needs: its own database and topology, a bus, a
 * read-only handle on the read model for assertions, and the event builders. The service
 * itself is started by each test file, so tests can stop, restart and rebuild it.
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
  dispose(): Promise<void>;
};

export async function createProjectionTestContext(name: string): Promise<ProjectionTestContext> {
  const world = await createTestWorld({ name });
  const { topology, database, bus } = world;
  const db = createDatabase<ReadModelDatabase>({ url: database.url, max: 2 });
  return {
    bus,
    topology,
    database,
    db,
    events: testEvents(topology),
    serviceOptions: { bus, databaseUrl: database.url, logger: createLogger("projection", "silent") },
    caughtUp: () => waitUntilCaughtUp(bus, db),
    deadLetters: () => readDeadLetters(bus),
    async dispose() {
      await db.destroy();
      await world.teardown();
    },
  };
}

async function readDeadLetters(bus: Bus): Promise<StoredMsg[]> {
  const name = bus.topology.streamNames.deadLetter;
  const info = await bus.jsm.streams.info(name);
  const letters: StoredMsg[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const letter = await bus.jsm.streams.getMessage(name, { seq });
    if (letter) letters.push(letter);
  }
  return letters;
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
