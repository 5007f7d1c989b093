import { createDatabase, migrateReadModel, type ReadModelDatabase } from "@kasmap/db";
import { createTestDatabase, type TestDatabase } from "@kasmap/testing/harness";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  liveConnections,
  loadCollectorConnections,
  MAX_COLLECTOR_CONNECTIONS_READ,
} from "./collector-connections.ts";

let database: TestDatabase;
let db: Kysely<ReadModelDatabase>;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDatabase<ReadModelDatabase>({ url: database.url, max: 1 });
  await migrateReadModel(db);
});

afterAll(async () => {
  await db?.destroy();
  await database?.drop();
});

const AGENT = 7;

function connection(collectorId: string, lastHeartbeatAt: Date) {
  return {
    agent_id: AGENT,
    collector_id: collectorId,
    pod_name: collectorId,
    pod_ip: null,
    namespace: "gitlab-agent",
    node: null,
    version: null,
    commit: null,
    connected_at: lastHeartbeatAt,
    last_heartbeat_at: lastHeartbeatAt,
    stopped_at: null,
  };
}

describe("loadCollectorConnections", () => {
  it("reads a bounded number of an agent's collectors, and the live replicas are among them", async () => {
    const now = Date.now();
    // A year of rolling updates (or a collector inventing ids): 500 pods long gone...
    const gone = Array.from({ length: 500 }, (_, i) =>
      connection(`old-pod-${i}`, new Date(now - 3_600_000 - i * 60_000)),
    );
    // ...and the two replicas running now.
    const live = [
      connection("agentk-a", new Date(now - 1_000)),
      connection("agentk-b", new Date(now - 2_000)),
    ];
    await db
      .insertInto("read_model.collector_connections")
      .values([...gone, ...live])
      .execute();

    const rows = await loadCollectorConnections(db, AGENT);
    expect(rows).toHaveLength(MAX_COLLECTOR_CONNECTIONS_READ);
    expect(liveConnections(rows, now).map((c) => c.collector_id)).toEqual(["agentk-a", "agentk-b"]);
  });
});
