import { publishEvent } from "@kasmap/bus";
import { CONNECTED_WITHIN_MS } from "@kasmap/contracts";
import { MAX_COLLECTOR_CONNECTIONS_PER_AGENT } from "@kasmap/db";
import { replicaHeartbeat as heartbeatOf } from "@kasmap/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { projectionContextForFile } from "../testing/projection-context.ts";

/** Issue 11: heartbeats are recorded per collector, so replicas of one agent do not overwrite each other. */
const ctx = projectionContextForFile("collector-connections-int-test");

beforeAll(async () => {
  await ctx.startService();
});

async function registerAgent(agentId: number): Promise<void> {
  await publishEvent(ctx.bus, ctx.events.agent(agentId, 11));
  await publishEvent(ctx.bus, ctx.events.agentToken(agentId * 10, agentId));
  await ctx.caughtUp();
}

/** A heartbeat of replica `pod` of the agent, on that replica's own subject. */
const replicaHeartbeat = (
  agentId: number,
  pod: string,
  sentAt: string,
  more?: { stopping?: boolean; ip?: string; distinctSubject?: boolean },
) => heartbeatOf(ctx.topology, agentId, pod, sentAt, more);

async function publishAll(...events: ReturnType<typeof replicaHeartbeat>[]): Promise<void> {
  for (const event of events) await publishEvent(ctx.bus, event);
  await ctx.caughtUp();
}

async function connections(agentId: number) {
  const rows = await ctx.db
    .selectFrom("read_model.collector_connections")
    .selectAll()
    .where("agent_id", "=", agentId)
    .orderBy("collector_id")
    .execute();
  return rows.map((row) => ({
    collector_id: row.collector_id,
    pod_ip: row.pod_ip,
    connected_at: row.connected_at.toISOString(),
    last_heartbeat_at: row.last_heartbeat_at.toISOString(),
    stopped_at: row.stopped_at?.toISOString() ?? null,
  }));
}

const at = (base: string, plusMs: number) => new Date(Date.parse(base) + plusMs).toISOString();
const T0 = "2026-03-01T00:00:00.000Z";

describe("collector connections", () => {
  it("keeps one row per replica, each with its own heartbeat", async () => {
    await registerAgent(31);
    await publishAll(
      replicaHeartbeat(31, "collector-a", T0, { ip: "10.244.1.1" }),
      replicaHeartbeat(31, "collector-b", at(T0, 5_000), { ip: "10.244.2.2" }),
      replicaHeartbeat(31, "collector-a", at(T0, 30_000), { ip: "10.244.1.1" }),
    );
    expect(await connections(31)).toEqual([
      {
        collector_id: "collector-a",
        pod_ip: "10.244.1.1",
        connected_at: T0,
        last_heartbeat_at: at(T0, 30_000),
        stopped_at: null,
      },
      {
        collector_id: "collector-b",
        pod_ip: "10.244.2.2",
        connected_at: at(T0, 5_000),
        last_heartbeat_at: at(T0, 5_000),
        stopped_at: null,
      },
    ]);
    // The agent's own last connection is the newest heartbeat of any replica, as before.
    const agent = await ctx.db
      .selectFrom("read_model.agent_connections")
      .select("last_heartbeat_at")
      .where("agent_id", "=", 31)
      .executeTakeFirstOrThrow();
    expect(agent.last_heartbeat_at.toISOString()).toBe(at(T0, 30_000));
  });

  it("ignores an older heartbeat of a replica that arrives late", async () => {
    await registerAgent(32);
    await publishAll(
      replicaHeartbeat(32, "collector-a", at(T0, 10_000), { ip: "10.244.1.1" }),
      replicaHeartbeat(32, "collector-a", T0, { ip: "10.244.9.9" }),
    );
    expect(await connections(32)).toEqual([
      expect.objectContaining({ pod_ip: "10.244.1.1", last_heartbeat_at: at(T0, 10_000) }),
    ]);
  });

  it.each([
    {
      case: "keeps connected_at while the replica keeps beating",
      agentId: 33,
      gapMs: CONNECTED_WITHIN_MS - 1,
      stopped: false,
      reconnected: false,
    },
    {
      case: "starts a new connection after a longer silence",
      agentId: 34,
      gapMs: CONNECTED_WITHIN_MS + 1,
      stopped: false,
      reconnected: true,
    },
    {
      case: "starts a new connection after the replica said it stopped",
      agentId: 35,
      gapMs: 1_000,
      stopped: true,
      reconnected: true,
    },
  ])("$case", async ({ agentId, gapMs, stopped, reconnected }) => {
    await registerAgent(agentId);
    await publishAll(replicaHeartbeat(agentId, "collector-a", T0, { stopping: stopped }));
    expect((await connections(agentId))[0]?.stopped_at).toBe(stopped ? T0 : null);
    await publishAll(replicaHeartbeat(agentId, "collector-a", at(T0, gapMs)));
    expect(await connections(agentId)).toEqual([
      expect.objectContaining({
        connected_at: reconnected ? at(T0, gapMs) : T0,
        last_heartbeat_at: at(T0, gapMs),
        stopped_at: null,
      }),
    ]);
  });
});

describe("collector connections of an agent whose collector invents ids", () => {
  it(`keeps the ${MAX_COLLECTOR_CONNECTIONS_PER_AGENT} newest of 200 invented collectors`, async () => {
    await registerAgent(39);
    const invented = Array.from({ length: 200 }, (_, i) =>
      // Each on a subject of its own (as under permissions from before the 16 subjects): all 200
      // are published before the projection reads them.
      replicaHeartbeat(39, `invented-${String(i).padStart(3, "0")}`, at(T0, i * 1_000), {
        distinctSubject: true,
      }),
    );
    await publishAll(...invented);
    const kept = (await connections(39)).map((row) => row.collector_id);
    expect(kept).toHaveLength(MAX_COLLECTOR_CONNECTIONS_PER_AGENT);
    // The newest heartbeats: invented-136 … invented-199.
    expect(kept).toEqual(
      Array.from(
        { length: MAX_COLLECTOR_CONNECTIONS_PER_AGENT },
        (_, i) => `invented-${200 - MAX_COLLECTOR_CONNECTIONS_PER_AGENT + i}`,
      ),
    );
    // A live replica keeps its row: its next heartbeat is the newest.
    await publishAll(replicaHeartbeat(39, "invented-136", at(T0, 300_000), { distinctSubject: true }));
    expect(await connections(39)).toHaveLength(MAX_COLLECTOR_CONNECTIONS_PER_AGENT);
    expect((await connections(39)).map((row) => row.collector_id)).toContain("invented-136");
  });
});
