import { ensureStreams, publishEvent } from "@kasmap/bus";
import { clusterFactsContentHash } from "@kasmap/cluster-info";
import { EVENT_TYPES, newKasmapEvent } from "@kasmap/contracts";
import { buildClusterFacts, openSse, type SseConnection, testEvents } from "@kasmap/testing";
import { eventually } from "@kasmap/testing/harness";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type GatewayFixture, insertAgent, startGatewayFixture, TOKENS } from "../testing/gateway-fixture.ts";

/**
 * Issue 7.9: live events over SSE — a per-user connection limit, one shared consumer per stream
 * per gateway process, and a `Last-Event-ID` replay that is bounded and carries only what the
 * user may read.
 */
const VISIBLE_AGENT = 970;
const SECRET_AGENT = 971;
const SECRET_GROUP = 60;
const SECRET_PROJECT = 61;
const LIVE_STREAMS = ["registry", "authz", "cluster", "heartbeat", "alerts"] as const;
let f: GatewayFixture;
const open: SseConnection[] = [];

beforeAll(async () => {
  f = await startGatewayFixture();
  await ensureStreams(f.bus);
  const created = "2024-03-20T20:42:40.221Z";
  await f.db
    .insertInto("read_model.groups")
    .values({
      id: SECRET_GROUP,
      name: "Secret",
      path: "secret",
      description: null,
      parent_id: null,
      traversal_ids: [SECRET_GROUP],
      full_path: "secret",
      full_name: "Secret",
      created_at: created,
    })
    .execute();
  await f.db
    .insertInto("read_model.projects")
    .values({
      id: SECRET_PROJECT,
      name: "Vault",
      path: "vault",
      description: null,
      namespace_id: SECRET_GROUP,
      traversal_ids: [SECRET_GROUP],
      path_with_namespace: "secret/vault",
      name_with_namespace: "Secret / Vault",
      creator_id: 1,
      created_at: created,
    })
    .execute();
  await insertAgent(f.db, VISIBLE_AGENT, "visible");
  await insertAgent(f.db, SECRET_AGENT, "secret", SECRET_PROJECT);
});

afterEach(() => {
  for (const connection of open.splice(0)) connection.close();
});

afterAll(async () => {
  await f?.close();
});

const streamUrl = () => `${f.gateway.url}/api/v4/events/stream`;

async function connectAs(token: string, lastEventId?: string): Promise<SseConnection> {
  const connection = await openSse(streamUrl(), token, lastEventId);
  open.push(connection);
  return connection;
}

function snapshot(agentId: number, clusterName: string) {
  const facts = buildClusterFacts({ cluster_name: clusterName });
  return newKasmapEvent({
    type: EVENT_TYPES.clusterSnapshot,
    source: "/kasmap/test",
    subject: f.bus.topology.subjects.clusterSnapshot(agentId),
    data: { agent_id: agentId, content_hash: clusterFactsContentHash(facts), cluster: facts },
  });
}

async function liveConsumerCount(): Promise<number> {
  let total = 0;
  for (const role of LIVE_STREAMS) {
    total += (await f.bus.jsm.consumers.list(f.bus.topology.streamNames[role]).next()).length;
  }
  return total;
}

/** A collector token (issue 9 item 5) of `agentId` appearing: an `agent_token` event of kind collector. */
function collectorTokenCreated(agentId: number, tokenId: number) {
  return newKasmapEvent({
    type: EVENT_TYPES.agentTokenChanged,
    source: "/kasmap/test",
    subject: f.bus.topology.subjects.registryChanged("agent_token", tokenId),
    data: {
      token: {
        id: tokenId,
        agent_id: agentId,
        kind: "collector" as const,
        name: "prod-collector",
        description: null,
        status: "active" as const,
        token_sha256: "a".repeat(64),
        created_at: "2024-03-20T20:42:40.221Z",
        created_by_user_id: 1,
        last_used_at: null,
      },
      actor_user_id: 1,
    },
  });
}

const agentOf = (frame: { data: unknown }) => (frame.data as { data?: { agent_id?: number } }).data?.agent_id;

describe("live event streams", () => {
  it("refuses a user's sixth stream with 429 and Retry-After, and frees the slot on close", async () => {
    const five = [];
    for (let i = 0; i < 5; i++) five.push(await connectAs(TOKENS.developer));
    const sixth = await f.call("/api/v4/events/stream", { token: TOKENS.developer });
    expect(sixth.status).toBe(429);
    expect(Number(sixth.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await sixth.json()).toEqual({
      message: "429 Too Many Requests - at most 5 live event streams per user",
    });
    // Another user is not affected.
    await connectAs(TOKENS.admin);
    five[0]?.close();
    await eventually(async () => {
      const retry = await f.call("/api/v4/events/stream", { token: TOKENS.developer });
      const ok = retry.status === 200;
      await retry.body?.cancel();
      return ok ? true : undefined;
    }, "a slot freed by a closed stream");
  });

  it("serves any number of clients from one consumer per stream", async () => {
    for (const token of [TOKENS.admin, TOKENS.admin, TOKENS.developer, TOKENS.developer, TOKENS.reporter]) {
      await connectAs(token);
    }
    expect(await liveConsumerCount()).toBeLessThanOrEqual(LIVE_STREAMS.length);
    const admin = open[0] as SseConnection;
    const developer = open[2] as SseConnection;
    await publishEvent(f.bus, snapshot(VISIBLE_AGENT, "shared"));
    for (const connection of [admin, developer]) {
      const frame = await connection.next((fr) => fr.event === EVENT_TYPES.clusterSnapshot);
      expect(agentOf(frame)).toBe(VISIBLE_AGENT);
    }
  });

  it("sends collector token events to Maintainers only, though Developers read the agent", async () => {
    const admin = await connectAs(TOKENS.admin);
    const developer = await connectAs(TOKENS.developer);
    await publishEvent(f.bus, collectorTokenCreated(VISIBLE_AGENT, 9_701));
    await publishEvent(f.bus, snapshot(VISIBLE_AGENT, "after-collector-token"));
    const seen = await admin.next((frame) => frame.event === EVENT_TYPES.agentTokenChanged);
    expect((seen.data as { data: { token: { id: number } } }).data.token.id).toBe(9_701);
    // The snapshot published after it arrives, so the token event was filtered, not late.
    await developer.next((frame) => frame.event === EVENT_TYPES.clusterSnapshot);
    expect(developer.received.filter((frame) => frame.event === EVENT_TYPES.agentTokenChanged)).toEqual([]);
  });

  it("sends an agent's alerts (issue 11) to those who may read the agent, with their severity", async () => {
    const admin = await connectAs(TOKENS.admin);
    const developer = await connectAs(TOKENS.developer);
    const alerts = testEvents(f.bus.topology);
    await publishEvent(f.bus, alerts.clusterChangedAlert(SECRET_AGENT, SECRET_PROJECT));
    await publishEvent(f.bus, alerts.clusterChangedAlert(VISIBLE_AGENT));
    for (const connection of [admin, developer]) {
      const frame = await connection.next(
        (fr) => fr.event === EVENT_TYPES.alertClusterChanged && agentOf(fr) === VISIBLE_AGENT,
      );
      expect(frame.data).toMatchObject({
        severity: "critical",
        subject: expect.stringContaining(".alerts."),
      });
    }
    // The visible agent's alert came after the secret one: the secret one was filtered, not late.
    const secretAlerts = (connection: SseConnection) =>
      connection.received.filter(
        (fr) => fr.event === EVENT_TYPES.alertClusterChanged && agentOf(fr) === SECRET_AGENT,
      );
    expect(secretAlerts(admin)).toHaveLength(1);
    expect(secretAlerts(developer)).toEqual([]);
  });

  it("replays after Last-Event-ID only what the user may read, and at most 1,000 events", async () => {
    const resumeAt = await publishEvent(f.bus, snapshot(VISIBLE_AGENT, "before"));
    for (let i = 0; i < 1_100; i++) await publishEvent(f.bus, snapshot(VISIBLE_AGENT, `filler-${i}`));
    await publishEvent(f.bus, snapshot(SECRET_AGENT, "secret"));
    await publishEvent(f.bus, snapshot(VISIBLE_AGENT, "last"));

    const connection = await connectAs(TOKENS.developer, `${resumeAt.stream}:${resumeAt.seq}`);
    await connection.next(
      (frame) =>
        (frame.data as { data?: { cluster?: { cluster_name?: string } } }).data?.cluster?.cluster_name ===
        "last",
      30_000,
    );
    const snapshots = connection.received.filter((frame) => frame.event === EVENT_TYPES.clusterSnapshot);
    expect(snapshots.filter((frame) => agentOf(frame) === SECRET_AGENT)).toEqual([]);
    expect(snapshots.length).toBeLessThanOrEqual(1_000);
    const truncated = connection.received.find((frame) => frame.event === "kasmap.replay_truncated");
    expect(truncated?.data).toMatchObject({ stream: resumeAt.stream });
  });
});
