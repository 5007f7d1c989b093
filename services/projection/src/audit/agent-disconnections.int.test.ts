import { publishEvent } from "@kasmap/bus";
import { CONNECTED_WITHIN_MS } from "@kasmap/contracts";
import { beforeAll, describe, expect, it } from "vitest";
import { projectionContextForFile } from "../testing/projection-context.ts";
import { recordAgentDisconnections } from "./agent-disconnections.ts";

const ctx = projectionContextForFile("projection-disconnections-int-test", { running: true });
beforeAll(async () => {
  const e = ctx.events;
  await publishEvent(ctx.bus, e.group(1));
  await publishEvent(ctx.bus, e.project(10, 1));
  for (const agentId of [5, 6, 7, 8]) {
    await publishEvent(ctx.bus, e.agent(agentId, 10));
    // The projection applies a collector's events only while its agent has an active token.
    await publishEvent(ctx.bus, e.agentToken(agentId * 10, agentId));
  }
  await ctx.caughtUp();
});

/** A time after which a heartbeat sent at `sentAt` counts as silent. */
function silentAfter(sentAt: string): Date {
  return new Date(Date.parse(sentAt) + CONNECTED_WITHIN_MS + 1_000);
}

async function heartbeat(agentId: number, sentAt: string): Promise<void> {
  await publishEvent(ctx.bus, ctx.events.heartbeat(agentId, sentAt));
  await ctx.caughtUp();
}

async function disconnections(agentId: number) {
  return ctx.db
    .selectFrom("read_model.audit_events")
    .select([
      "event_id",
      "event_type",
      "author_id",
      "entity_id",
      "entity_path",
      "target_id",
      "details",
      "stream",
    ])
    .where("agent_id", "=", agentId)
    .where("event_type", "=", "cluster_agent_disconnected")
    .orderBy("event_id")
    .execute();
}

describe("cluster_agent_disconnected", () => {
  it("records one event for a heartbeat older than the window, however often the sweep runs", async () => {
    const sentAt = "2026-01-01T00:00:00.000Z";
    await heartbeat(5, sentAt);

    await recordAgentDisconnections(ctx.db, silentAfter(sentAt), ctx.bus);
    await recordAgentDisconnections(ctx.db, silentAfter(sentAt), ctx.bus);

    expect(await disconnections(5)).toEqual([
      {
        event_id: `disconnected:5:${sentAt}`,
        event_type: "cluster_agent_disconnected",
        author_id: null,
        entity_id: 10,
        entity_path: expect.any(String),
        target_id: 5,
        details: { collector_id: "collector-1", last_heartbeat_at: sentAt },
        stream: null,
      },
    ]);
  });

  it("records nothing while the last heartbeat is within the window", async () => {
    const now = new Date();
    await heartbeat(6, new Date(now.getTime() - 1_000).toISOString());

    await recordAgentDisconnections(ctx.db, now, ctx.bus);

    expect(await disconnections(6)).toEqual([]);
  });

  it("records the next silence again after the agent reconnected", async () => {
    const first = "2026-02-01T00:00:00.000Z";
    await heartbeat(7, first);
    await recordAgentDisconnections(ctx.db, silentAfter(first), ctx.bus);

    const second = "2026-02-01T01:00:00.000Z";
    await heartbeat(7, second);
    const connection = await ctx.db
      .selectFrom("read_model.agent_connections")
      .select("disconnected_reported_at")
      .where("agent_id", "=", 7)
      .executeTakeFirstOrThrow();
    expect(connection.disconnected_reported_at).toBeNull();
    await recordAgentDisconnections(ctx.db, new Date(Date.parse(second) + 1_000), ctx.bus);
    expect(await disconnections(7)).toHaveLength(1);

    await recordAgentDisconnections(ctx.db, silentAfter(second), ctx.bus);

    expect((await disconnections(7)).map((r) => r.details)).toEqual([
      { collector_id: "collector-1", last_heartbeat_at: first },
      { collector_id: "collector-1", last_heartbeat_at: second },
    ]);
  });
});

describe("cluster_agent_disconnected while the projection is behind on heartbeats", () => {
  it("records nothing while a newer heartbeat waits unread, and the real silence once it is read", async () => {
    const applied = "2026-03-01T00:00:00.000Z";
    const waiting = "2026-03-01T00:00:30.000Z";
    await heartbeat(8, applied);
    await ctx.stopService();
    try {
      // The projection is stopped: the collector's next heartbeat waits in the stream.
      await publishEvent(ctx.bus, ctx.events.heartbeat(8, waiting));

      // By the sweep's clock the applied heartbeat is older than the window, the waiting one not.
      const sweep = await recordAgentDisconnections(ctx.db, silentAfter(applied), ctx.bus);
      // Even once the waiting one is old too: the projection cannot tell before it read it.
      const later = await recordAgentDisconnections(ctx.db, silentAfter(waiting), ctx.bus);

      expect(await disconnections(8)).toEqual([]);
      expect([sweep, later]).toEqual([
        { recorded: 0, deferred: 1 },
        { recorded: 0, deferred: 1 },
      ]);
    } finally {
      await ctx.startService();
    }
    await ctx.caughtUp();

    // Read, and nothing after it: the collector really stopped after `waiting`.
    await recordAgentDisconnections(ctx.db, silentAfter(waiting), ctx.bus);
    await recordAgentDisconnections(ctx.db, silentAfter(waiting), ctx.bus);

    expect((await disconnections(8)).map((r) => r.details)).toEqual([
      { collector_id: "collector-1", last_heartbeat_at: waiting },
    ]);
  });
});
