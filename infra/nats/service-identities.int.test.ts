import { type AuthzService, startAuthzService } from "@kasmap/authz-service";
import { type Bus, ensureStreams, requestAgentAuthentication } from "@kasmap/bus";
import { generateToken, TOKEN_PREFIXES } from "@kasmap/contracts";
import { type RunningGateway, startGateway } from "@kasmap/gateway-service";
import { createLogger } from "@kasmap/logging";
import { type ProjectionService, startProjectionService } from "@kasmap/projection-service";
import { createTestDatabase, createTestTopology, type TestDatabase } from "@kasmap/testing/harness";
import { type PrivateNatsServer, startPrivateNatsServer } from "@kasmap/testing/private-servers";
import { PermissionViolationError } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerDemoAgent } from "../local/demo-registration.ts";
import { renderAuthorization } from "./render-authorization.ts";
import {
  connectAsNkeyUser,
  newNkeyUser,
  newServiceUsers,
  servicePublicKeys,
} from "./testing/nkey-test-users.ts";
import { permissionViolation } from "./testing/permission-violation.ts";

/**
 * "A token crosses NATS only to the service that checks it." authz, projection and gateway run
 * here as their own nkey users on a private nats-server whose authorization comes from
 * `renderAuthorization`, next to two agents' collector users. Agent tokens travel in
 * `agent_token.authenticate` requests (collector → authz) and token plaintexts in authz's replies
 * to `…token.create` (→ gateway) and `agent_token.authenticate` (→ collector): only authz may
 * subscribe to the command subjects, and each identity's reply inbox is its own.
 */
const topology = createTestTopology();
const users = { ...newServiceUsers(), demoAgent: newNkeyUser(), otherAgent: newNkeyUser() };
const adminToken = generateToken(TOKEN_PREFIXES.personalAccess);
const silent = (service: string) => createLogger(service, "silent");

let server: PrivateNatsServer;
let database: TestDatabase;
const buses: Record<keyof typeof users, Bus | undefined> = {
  authz: undefined,
  projection: undefined,
  gateway: undefined,
  sync: undefined,
  demoAgent: undefined,
  otherAgent: undefined,
};
let authz: AuthzService | undefined;
let projection: ProjectionService | undefined;
let gateway: RunningGateway | undefined;
let demo: { agentId: number; agentToken: string };

function render(agents: ReadonlyArray<{ agentId: number; nkey: string }>): string {
  return renderAuthorization({ topologyRoot: topology.root, services: servicePublicKeys(users), agents });
}

function bus(who: keyof typeof users): Bus {
  const connected = buses[who];
  if (!connected) throw new Error(`${who} is not connected`);
  return connected;
}

const connectAs = (who: keyof typeof users) =>
  connectAsNkeyUser(server, topology, `kasmap-${who}`, users[who]);

beforeAll(async () => {
  // Agent ids come from authz; 1_000_000 stands for "some other agent" until the demo agent exists.
  server = await startPrivateNatsServer(render([{ agentId: 1_000_000, nkey: users.otherAgent.nkey }]));
  buses.authz = await connectAs("authz");
  await ensureStreams(bus("authz"));
  buses.projection = await connectAs("projection");
  buses.gateway = await connectAs("gateway");
  database = await createTestDatabase();
  authz = await startAuthzService({
    bus: bus("authz"),
    databaseUrl: database.url,
    adminToken,
    logger: silent("authz"),
  });
  projection = await startProjectionService({
    bus: bus("projection"),
    databaseUrl: database.url,
    logger: silent("projection"),
  });
  gateway = await startGateway({ bus: bus("gateway"), databaseUrl: database.url, logger: silent("gateway") });
  // Through the gateway's REST API: commands to authz, the token's plaintext back in authz's
  // reply, registry events through the projection into the read model the gateway reads.
  demo = await registerDemoAgent(gateway.url, adminToken);
  server.reloadAuthorization(
    render([
      { agentId: 1_000_000, nkey: users.otherAgent.nkey },
      { agentId: demo.agentId, nkey: users.demoAgent.nkey },
    ]),
  );
  buses.demoAgent = await connectAs("demoAgent");
  buses.otherAgent = await connectAs("otherAgent");
}, 60_000);

afterAll(async () => {
  for (const who of ["demoAgent", "otherAgent"] as const) await buses[who]?.close();
  await gateway?.stop();
  await projection?.stop();
  await authz?.stop();
  for (const who of ["gateway", "projection", "authz"] as const) await buses[who]?.close();
  await server?.stop();
  await database?.drop();
});

async function refusedSubscription(who: keyof typeof users, subject: string): Promise<void> {
  const closedWith = await bus(who).nc.subscribe(subject).closed;
  expect(closedWith, `${who} subscribing to ${subject}`).toBeInstanceOf(PermissionViolationError);
}

describe("each service under its own identity", () => {
  it("registers an agent through the gateway and reads it back from the read model", async () => {
    expect(demo.agentToken).toMatch(/^glagent-/);
    const response = await fetch(
      `${gateway?.url}/api/v4/projects/demo%2Finfrastructure/cluster_agents/${demo.agentId}`,
      {
        headers: { "private-token": adminToken },
      },
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: demo.agentId, name: "demo-agent" });
  });

  it("refuses to let the projection declare streams, and says that authz declares them", async () => {
    const undeclared = { ...bus("projection"), topology: createTestTopology() };
    await expect(ensureStreams(undeclared)).rejects.toThrow(/may not declare streams: start authz first/);
  });

  // The streams are the audit log: no identity, not even authz which declares them, may purge
  // a stream, delete it or delete one of its messages (issue 7: nobody rewrites the audit log).
  it.each(["authz", "projection", "gateway"] as const)(
    "refuses to let %s erase audit history",
    async (who) => {
      const registry = topology.streamNames.registry;
      const jsm = bus(who).jsm;
      await permissionViolation(jsm.streams.purge(registry));
      await permissionViolation(jsm.streams.deleteMessage(registry, 1));
      await permissionViolation(jsm.streams.delete(registry));
      expect((await bus("authz").jsm.streams.info(registry)).state.messages).toBeGreaterThan(0);
    },
  );

  it("lets the demo agent's collector identity have its token checked by authz", async () => {
    const { result } = await requestAgentAuthentication(bus("demoAgent"), {
      token: demo.agentToken,
    });
    expect(result.agent_id).toBe(demo.agentId);
  });
});

describe("the agent-token check and the other authz commands", () => {
  const commandSubjects = () => [
    topology.subjects.authzCommand("agent_token.authenticate"),
    topology.wildcards.authzCommands,
    topology.wildcards.live,
    ">",
  ];

  it.each(["projection", "gateway", "demoAgent", "otherAgent"] as const)(
    "cannot be subscribed to by %s",
    async (who) => {
      for (const subject of commandSubjects()) await refusedSubscription(who, subject);
    },
  );

  it("cannot be captured into a stream by the projection or the gateway", async () => {
    for (const who of ["projection", "gateway"] as const) {
      await permissionViolation(
        bus(who).jsm.streams.add({
          name: `${topology.root.toUpperCase()}_CAPTURE_${who.toUpperCase()}`,
          subjects: [topology.wildcards.authzCommands],
        }),
      );
    }
  });
});

describe("reply inboxes", () => {
  const inboxOf = (who: keyof typeof users) => `_INBOX.${users[who].nkey}.>`;

  it.each([
    { owner: "demoAgent", readers: ["authz", "projection", "gateway", "otherAgent"] },
    { owner: "gateway", readers: ["authz", "projection", "demoAgent", "otherAgent"] },
    { owner: "authz", readers: ["projection", "gateway", "demoAgent", "otherAgent"] },
  ] as const)("$owner's inbox cannot be subscribed to by anyone else", async ({ owner, readers }) => {
    for (const reader of readers) await refusedSubscription(reader, inboxOf(owner));
  });

  it.each(["authz", "projection", "gateway", "demoAgent"] as const)(
    "%s cannot subscribe to every inbox",
    async (who) => {
      await refusedSubscription(who, "_INBOX.>");
    },
  );
});
