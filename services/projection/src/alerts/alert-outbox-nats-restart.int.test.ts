import { connectBus, ensureStreams } from "@kasmap/bus";
import { createDatabase, migrateReadModel, type ReadModelDatabase } from "@kasmap/db";
import { createLogger } from "@kasmap/logging";
import { testEvents } from "@kasmap/testing";
import { createTestDatabase, createTestTopology, eventually } from "@kasmap/testing/harness";
import { createPrivateNats } from "@kasmap/testing/private-servers";
import { resourceForFile } from "@kasmap/testing/resource-for-file";
import { describe, expect, it } from "vitest";
import { createAlertPublisher } from "./alert-outbox.ts";

/**
 * Issue 11: an alert queued while NATS is down (or going down) is published once NATS is back:
 * the outbox, not the NATS connection, holds it. On a private nats-server this file may kill.
 */
const topology = createTestTopology();
/** A private nats-server (this file kills it), a read model of its own, and a bus on that server. */
const env = resourceForFile(
  async () => {
    const nats = await createPrivateNats();
    const database = await createTestDatabase();
    const db = createDatabase<ReadModelDatabase>({ url: database.url, max: 2 });
    await migrateReadModel(db);
    const bus = await connectBus({ url: nats.url, name: "alert-outbox-nats-restart", topology });
    await ensureStreams(bus);
    return { nats, database, db, bus };
  },
  async ({ nats, database, db, bus }) => {
    await bus.close();
    await db.destroy();
    await database.drop();
    await nats.destroy();
  },
);

describe("the alert outbox across a NATS restart", () => {
  it("keeps the alert while NATS is down and publishes it once when NATS is back", async () => {
    const { nats, db, bus } = env;
    const alert = testEvents(topology).clusterChangedAlert(7);
    await db
      .insertInto("read_model.alert_outbox")
      .values({ event_id: alert.id, agent_id: 7, event: JSON.stringify(alert) })
      .execute();
    await nats.kill("SIGKILL");
    const publisher = createAlertPublisher(db, bus, createLogger("projection", "silent"));
    await publisher.flush();
    expect(await publisher.status()).toMatchObject({ pending: 1, set_aside: 0 });

    await nats.start();
    const relay = publisher.startRelay(200);
    try {
      await eventually(
        async () => ((await publisher.status()).pending === 0 ? true : undefined),
        "the alert published after the restart",
        30_000,
      );
    } finally {
      await relay.stop();
    }
    const { state } = await bus.jsm.streams.info(topology.streamNames.alerts);
    expect(state.messages).toBe(1);
    const stored = await bus.jsm.streams.getMessage(topology.streamNames.alerts, { seq: state.last_seq });
    expect(stored?.header?.get("Nats-Msg-Id")).toBe(alert.id);
    expect(stored?.json()).toMatchObject({ severity: "critical", data: { agent_id: 7 } });
  });
});
