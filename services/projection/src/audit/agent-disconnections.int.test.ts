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
  for (const agentId of [5, 6, 7]) {
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

    await recordAgentDisconnections(ctx.db, silentAfter(sentAt));
    await recordAgentDisconnections(ctx.db, silentAfter(sentAt));

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

    await recordAgentDisconnections(ctx.db, now);

    expect(await disconnections(6)).toEqual([]);
  });

  it("records the next silence again after the agent reconnected", async () => {
    const first = "2026-02-01T00:00:00.000Z";
    await heartbeat(7, first);
    await recordAgentDisconnections(ctx.db, silentAfter(first));

    const second = "2026-02-01T01:00:00.000Z";
    await heartbeat(7, second);
    const connection = await ctx.db
      .selectFrom("read_model.agent_connections")
      .select("disconnected_reported_at")
      .where("agent_id", "=", 7)
      .executeTakeFirstOrThrow();
    expect(connection.disconnected_reported_at).toBeNull();
    await recordAgentDisconnections(ctx.db, new Date(Date.parse(second) + 1_000));
    expect(await disconnections(7)).toHaveLength(1);

    await recordAgentDisconnections(ctx.db, silentAfter(second));

    expect((await disconnections(7)).map((r) => r.details)).toEqual([
      { collector_id: "collector-1", last_heartbeat_at: first },
      { collector_id: "collector-1", last_heartbeat_at: second },
    ]);
  });
});
