import { type Bus, isWrongLastMsgId } from "@kasmap/bus";
import { EVENT_TYPES, KasmapEventSchema, newKasmapEvent } from "@kasmap/contracts";
import { createLogger } from "@kasmap/logging";
import { PUBLISH_WINDOW } from "@kasmap/runtime/outbox";
import type { JetStreamClient } from "@nats-io/jetstream";
import { beforeAll, describe, expect, it } from "vitest";
import { createOutboxPublisher } from "./outbox.ts";
import { AUTHZ_EVENT_SOURCE } from "./registry-events.ts";
import { authzTestEnvironmentForFile } from "./testing/authz-test-environment.ts";

/**
 * The outbox publishes a window of rows awaiting their acks together. A failure in the middle of
 * a window — a publish that never left, an ack lost after the server stored the message, a
 * message the server refuses — must lose no row, store none twice and keep the stream in outbox
 * order. The service is stopped: the rows are published by a publisher of this file's own, on a
 * bus whose `js.publish` fails once as told, against the real NATS and PostgreSQL.
 */
const env = authzTestEnvironmentForFile();
const logger = createLogger("authz-outbox-window-test", "silent");
/** Enough rows for several windows; the failure lands inside the second. */
const ROWS = PUBLISH_WINDOW * 2 + 40;
const FAILING_CALL = PUBLISH_WINDOW + 20;

beforeAll(async () => {
  await env.service.stop();
});

let nextUserId = 900_000;

/** A user event; `nameBytes` pads its name (the body grows with it). */
function userEvent(nameBytes = 10) {
  const id = nextUserId++;
  return newKasmapEvent({
    type: EVENT_TYPES.userChanged,
    source: AUTHZ_EVENT_SOURCE,
    subject: env.bus.topology.subjects.registryChanged("user", id),
    data: {
      user: {
        id,
        username: `u${id}`,
        name: "n".repeat(nameBytes),
        is_admin: false,
        state: "active",
        created_at: new Date().toISOString(),
      },
      actor_user_id: null,
    },
  });
}

/** Queues the events as outbox rows, as commands do; their ids, in order. */
async function queue(events: readonly ReturnType<typeof userEvent>[]): Promise<number[]> {
  const rows = await env.db
    .insertInto("authz.outbox")
    .values(events.map((event) => ({ event: JSON.stringify(event) })))
    .returning("id")
    .execute();
  return rows.map((row) => row.id).sort((a, b) => a - b);
}

/** Event ids on the registry stream after `afterSeq`, in stream order. */
async function registryEventIdsAfter(afterSeq: number): Promise<string[]> {
  const stream = env.bus.topology.streamNames.registry;
  const info = await env.bus.jsm.streams.info(stream);
  const ids: string[] = [];
  for (let seq = afterSeq + 1; seq <= info.state.last_seq; seq++) {
    const message = await env.bus.jsm.streams.getMessage(stream, { seq });
    if (message) ids.push(KasmapEventSchema.parse(message.json()).id);
  }
  return ids;
}

async function registryLastSeq(): Promise<number> {
  return (await env.bus.jsm.streams.info(env.bus.topology.streamNames.registry)).state.last_seq;
}

type Fault = "never sent" | "ack lost";

/**
 * The environment's bus, but call number `failingCall` of `js.publish` fails: without sending
 * (`never sent`) or after the server stored the message (`ack lost`). Counts what the server
 * refused as out of order (`Nats-Expected-Last-Msg-Id`) and acked as duplicates (`Nats-Msg-Id`).
 */
function busFailingOnce(fault: Fault, failingCall: number) {
  const real = env.bus.js;
  const seen = { calls: 0, refusedOutOfOrder: 0, duplicates: 0 };
  const publish: JetStreamClient["publish"] = async (...args) => {
    const call = ++seen.calls;
    if (call === failingCall && fault === "never sent") throw new Error("simulated: connection lost");
    try {
      const ack = await real.publish(...args);
      if (call === failingCall) throw new Error("simulated: ack lost");
      if (ack.duplicate) seen.duplicates++;
      return ack;
    } catch (error) {
      if (isWrongLastMsgId(error)) seen.refusedOutOfOrder++;
      throw error;
    }
  };
  const js = new Proxy(real, {
    get: (target, property) => (property === "publish" ? publish : Reflect.get(target, property, target)),
  });
  const bus: Bus = { ...env.bus, js };
  return { bus, seen };
}

describe("the outbox's publishing window", () => {
  for (const fault of ["never sent", "ack lost"] as const) {
    it(`loses and duplicates nothing when a publish mid-window fails (${fault}), in outbox order`, async () => {
      const events = Array.from({ length: ROWS }, () => userEvent());
      const ids = await queue(events);
      const before = await registryLastSeq();
      const { bus, seen } = busFailingOnce(fault, FAILING_CALL);

      await createOutboxPublisher(env.db, bus, logger).flush();

      // Every row once, in id order, and each row marked with the position it holds.
      expect(await registryEventIdsAfter(before)).toEqual(events.map((event) => event.id));
      const rows = await env.db
        .selectFrom("authz.outbox")
        .select(["id", "seq", "published_at", "set_aside_at"])
        .where("id", "in", ids)
        .orderBy("id")
        .execute();
      expect(rows.map((row) => Number(row.seq))).toEqual(ids.map((_, index) => before + index + 1));
      expect(rows.every((row) => row.published_at !== null && row.set_aside_at === null)).toBe(true);
      // The failure was in the middle of a window: publishes behind it were in flight, and
      // those not stored right behind their predecessor were refused, then published again.
      expect(seen.calls).toBeGreaterThan(ROWS);
      if (fault === "never sent") expect(seen.refusedOutOfOrder).toBeGreaterThan(0);
      else expect(seen.duplicates).toBeGreaterThan(0);
    });
  }

  it("sets aside a row the server refuses mid-window and publishes every other row once, in order", async () => {
    const stream = env.bus.topology.streamNames.registry;
    const config = (await env.bus.jsm.streams.info(stream)).config;
    const events = Array.from({ length: ROWS }, (_, index) => userEvent(index === FAILING_CALL ? 6_000 : 10));
    const ids = await queue(events);
    const before = await registryLastSeq();
    // The server's stream is stricter than the topology the publisher checks against: only the
    // server refuses the large row (max_msg_size), after the rows before it were sent.
    await env.bus.jsm.streams.update(stream, { ...config, max_msg_size: 4_096 });
    try {
      await createOutboxPublisher(env.db, env.bus, logger).flush();
    } finally {
      await env.bus.jsm.streams.update(stream, config);
    }

    const refused = events[FAILING_CALL];
    expect(await registryEventIdsAfter(before)).toEqual(
      events.filter((event) => event !== refused).map((event) => event.id),
    );
    const rows = await env.db
      .selectFrom("authz.outbox")
      .select(["id", "published_at", "set_aside_reason"])
      .where("id", "in", ids)
      .orderBy("id")
      .execute();
    const setAside = rows.filter((row) => row.set_aside_reason !== null);
    expect(setAside).toEqual([
      { id: ids[FAILING_CALL], published_at: null, set_aside_reason: expect.stringMatching(/max_msg_size/) },
    ]);
    expect(rows.filter((row) => row.published_at === null)).toHaveLength(1);
  });
});
