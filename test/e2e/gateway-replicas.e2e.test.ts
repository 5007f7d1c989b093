import { type Bus, connectBus } from "@kasmap/bus";
import { type RunningGateway, startGateway } from "@kasmap/gateway-service";
import { createLogger } from "@kasmap/logging";
import { createTestTopology, eventually, testNatsUrl } from "@kasmap/testing/harness";
import { gatewayCaller, ok } from "@kasmap/testing/system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentWithToken, groupWithProject, kasmapSystemForFile, userWithToken } from "./system-for-file.ts";

/**
 * Issue 12, scale-out: several gateway replicas on one read model. A write through one replica
 * is seen through another once the projection's change notice (core NATS, delivered to every
 * replica) drops the other's cached entry; a replica that never receives a notice still sees it
 * when its entry's TTL runs out. Each replica has its own NATS connection, as in production.
 */
const ADMIN = "glpat-admin-gateway-replicas";
const system = kasmapSystemForFile({ adminToken: ADMIN });
/** Far longer than the test: only a notice can make `peer` see a change. */
const LONG_TTL_MS = 10 * 60_000;
/** `deaf` hears no notice at all: only its TTL makes it see a change. */
const SHORT_TTL_MS = 1_000;

type Replica = { bus: Bus; gateway: RunningGateway; call: ReturnType<typeof gatewayCaller> };
let peer: Replica;
let deaf: Replica;
let projectId: number;

async function startReplica(name: string, topology: Bus["topology"], cacheTtlMs: number): Promise<Replica> {
  const bus = await connectBus({ url: testNatsUrl(), name, topology });
  const gateway = await startGateway({
    bus,
    databaseUrl: system.databaseUrl,
    logger: createLogger(name, "silent"),
    cacheTtlMs,
  });
  return { bus, gateway, call: gatewayCaller(gateway.url) };
}

beforeAll(async () => {
  ({ projectId } = await groupWithProject(system, ADMIN, { group: "Replicas", project: "infra" }));
  peer = await startReplica("gateway-replica-peer", system.topology, LONG_TTL_MS);
  // Another topology root: the projection's notices never reach this replica.
  deaf = await startReplica("gateway-replica-deaf", createTestTopology(), SHORT_TTL_MS);
});

afterAll(async () => {
  for (const replica of [peer, deaf]) {
    await replica?.gateway.stop();
    await replica?.bus.close();
  }
});

const statusOf = async (replica: Replica, path: string, token = ADMIN) =>
  (await replica.call("GET", path, token)).status;

describe("gateway replicas on one read model", () => {
  it("an agent deleted through one replica is gone through the others (notice, then TTL)", async () => {
    const { agentId } = await agentWithToken(system, projectId, "replicated");
    const path = `/api/v4/projects/${projectId}/cluster_agents/${agentId}`;
    // Both replicas cache the agent (a second read is a cache hit).
    for (const replica of [peer, deaf]) {
      expect(await statusOf(replica, path)).toBe(200);
      expect(await statusOf(replica, path)).toBe(200);
    }
    await ok(system.call("DELETE", path, ADMIN), 204);
    await eventually(
      async () => ((await statusOf(peer, path)) === 404 ? true : undefined),
      "peer sees the delete",
    );
    await eventually(
      async () => ((await statusOf(deaf, path)) === 404 ? true : undefined),
      "deaf replica's TTL",
    );
  });

  it("a membership added through one replica lets the user in through the others", async () => {
    const { userId, token } = await userWithToken(system, ADMIN, "replicated-user");
    const path = `/api/v4/projects/${projectId}`;
    expect(await statusOf(peer, path, token)).toBe(404);
    expect(await statusOf(deaf, path, token)).toBe(404);
    await ok(
      system.call("POST", `/api/v4/projects/${projectId}/members`, ADMIN, {
        user_id: userId,
        access_level: 30,
      }),
      201,
    );
    await eventually(
      async () => ((await statusOf(peer, path, token)) === 200 ? true : undefined),
      "peer lets in",
    );
    await eventually(
      async () => ((await statusOf(deaf, path, token)) === 200 ? true : undefined),
      "deaf TTL",
    );
  });
});
