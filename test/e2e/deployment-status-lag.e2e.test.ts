import { publishEvent } from "@kasmap/bus";
import { CONNECTED_WITHIN_MS } from "@kasmap/contracts";
import { createDatabase, type ReadModelDatabase } from "@kasmap/db";
import { type RunningGateway, startGateway } from "@kasmap/gateway-service";
import { createLogger } from "@kasmap/logging";
import {
  PROJECTION_CONSUMERS,
  type ProjectionService,
  readPositions,
  recordAgentDisconnections,
  startProjectionService,
} from "@kasmap/projection-service";
import { buildClusterFacts, testEvents } from "@kasmap/testing";
import { eventually } from "@kasmap/testing/harness";
import { testWorldForFile } from "@kasmap/testing/world";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Finding: while the projection is behind on heartbeats (a restart with a backlog, a flood, a
 * slow database), every agent whose newer heartbeats waited unread was shown `disconnected`.
 * Now such an agent is `unknown`, and `disconnected` only once the projection's sweep found no
 * newer heartbeat of it in the stream. The projection is stopped between steps, so no sweep of
 * its own runs at a time the test does not choose.
 */
const world = testWorldForFile({ name: "deployment-status-lag-e2e" });
let db: Kysely<ReadModelDatabase>;
let gateway: RunningGateway;
let projection: ProjectionService | undefined;

const PROJECT = 10;
const AGENT = { behind: 5, dead: 6, quiet: 7 } as const;
/** The developer's personal access token: `testEvents().personalAccessToken(50, …)` is `pat-50`. */
const TOKEN = "pat-50";
/** A heartbeat this much older than now turns 3 minutes old a few seconds into the test. */
const ALMOST_SILENT_MS = CONNECTED_WITHIN_MS - 4_000;

const silent = (service: string) => createLogger(service, "silent");

async function startProjection(): Promise<void> {
  projection = await startProjectionService({
    bus: world.bus,
    databaseUrl: world.database.url,
    logger: silent("projection"),
  });
}

async function stopProjection(): Promise<void> {
  await projection?.stop();
  projection = undefined;
}

/** Resolves once every projection consumer's position reached its stream's last sequence. */
function caughtUp(): Promise<true> {
  return eventually(async () => {
    const positions = await readPositions(db);
    for (const { stream, durable } of PROJECTION_CONSUMERS) {
      const info = await world.bus.jsm.streams.info(world.topology.streamNames[stream]);
      const lastSeq = info.state.messages === 0 ? 0 : info.state.last_seq;
      if ((positions.get(durable)?.seq ?? 0) < lastSeq) return undefined;
    }
    return true;
  }, "projection caught up");
}

async function heartbeat(agentId: number, sentAt: Date): Promise<void> {
  await publishEvent(world.bus, testEvents(world.topology).heartbeat(agentId, sentAt.toISOString()));
}

async function status(agentId: number): Promise<string> {
  const response = await fetch(
    `${gateway.url}/api/v4/projects/${PROJECT}/cluster_agents/${agentId}?with_cluster_info=true`,
    { headers: { "private-token": TOKEN } },
  );
  const body = (await response.json()) as { cluster_info: { deployment_status: string } | null };
  return body.cluster_info?.deployment_status ?? "no cluster_info";
}

/** Waits until `at` plus a margin, by this process's clock (the gateway's). */
async function waitUntil(at: number): Promise<void> {
  const delay = at + 200 - Date.now();
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
}

beforeAll(async () => {
  db = createDatabase<ReadModelDatabase>({ url: world.database.url, max: 2 });
  await startProjection();
  gateway = await startGateway({
    bus: world.bus,
    databaseUrl: world.database.url,
    logger: silent("gateway"),
  });
  const e = testEvents(world.topology);
  await publishEvent(world.bus, e.group(1));
  await publishEvent(world.bus, e.project(PROJECT, 1));
  await publishEvent(world.bus, e.user(5));
  await publishEvent(world.bus, e.personalAccessToken(50, 5));
  await publishEvent(
    world.bus,
    e.membership({ id: 1, user_id: 5, source_type: "project", source_id: PROJECT, access_level: 30 }),
  );
  for (const agentId of Object.values(AGENT)) {
    await publishEvent(world.bus, e.agent(agentId, PROJECT));
    // The projection applies a collector's events only while its agent has an active token.
    await publishEvent(world.bus, e.agentToken(agentId * 10, agentId));
    await publishEvent(
      world.bus,
      e.snapshot(agentId, buildClusterFacts({ cluster_name: `cluster-${agentId}` })),
    );
  }
  await caughtUp();
});

afterAll(async () => {
  await stopProjection();
  await gateway?.stop();
  await db?.destroy();
});

describe("deployment_status while the projection is behind on heartbeats", () => {
  it("is unknown for an agent whose newer heartbeat waits unread, connected once read; a real silence is disconnected", async () => {
    const applied = new Date(Date.now() - ALMOST_SILENT_MS);
    await heartbeat(AGENT.behind, applied);
    // Silent for 10 minutes before the server stored it: really silent.
    await heartbeat(AGENT.dead, new Date(Date.now() - 10 * 60_000));
    await caughtUp();
    await stopProjection();
    // The projection is down: the collector's next heartbeat waits in the stream.
    await heartbeat(AGENT.behind, new Date());
    await waitUntil(applied.getTime() + CONNECTED_WITHIN_MS);

    // By the clock the applied heartbeat is 3 minutes old; the newer one is unread.
    expect(await status(AGENT.behind)).toBe("unknown");
    // The sweep defers the agent whose heartbeat waits unread, and confirms the other's silence.
    expect(await recordAgentDisconnections(db, new Date(), world.bus)).toEqual({ recorded: 1, deferred: 1 });
    await eventually(
      async () => ((await status(AGENT.dead)) === "disconnected" ? true : undefined),
      "dead agent",
    );
    expect(await status(AGENT.behind)).toBe("unknown");

    await startProjection();
    await caughtUp();
    await eventually(
      async () => ((await status(AGENT.behind)) === "connected" ? true : undefined),
      "caught up",
    );
  });

  it("turns a quiet fleet's silence from unknown to disconnected by the sweep, with no heartbeat to read", async () => {
    if (!projection) await startProjection();
    const last = new Date(Date.now() - ALMOST_SILENT_MS);
    await heartbeat(AGENT.quiet, last);
    await caughtUp();
    // Caught up, and nothing more comes: only the sweep can tell the silence.
    await stopProjection();
    await waitUntil(last.getTime() + CONNECTED_WITHIN_MS);
    expect(await status(AGENT.quiet)).toBe("unknown");

    expect(await recordAgentDisconnections(db, new Date(), world.bus)).toMatchObject({ deferred: 0 });

    await eventually(
      async () => ((await status(AGENT.quiet)) === "disconnected" ? true : undefined),
      "the confirmed silence",
    );
  });
});
