import { randomBytes } from "node:crypto";
import { type AuthzService, startAuthzService } from "@kasmap/authz-service";
import { type Bus, connectBus, ensureStreams, requestAgentAuthentication, requestCommand } from "@kasmap/bus";
import { createLogger } from "@kasmap/logging";
import {
  type GitLabSimulator,
  mirrorSimulatedAgent,
  type SimAgent,
  startGitLabSimulator,
} from "@kasmap/testing/gitlab-simulator";
import {
  createTestDatabase,
  createTestTopology,
  eventually,
  type TestDatabase,
} from "@kasmap/testing/harness";
import { type PrivateNatsServer, startPrivateNatsServer } from "@kasmap/testing/private-servers";
import { nkeys } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderAuthorization } from "./render-authorization.ts";
import { permissionViolation } from "./testing/permission-violation.ts";

/**
 * GitLab agent tokens (KAS secret, issue 9 item 5) and the collector's NATS identity: authz answers
 * whichever agent GitLab names, and the NATS user binds the collector to its own agent. A GitLab
 * token of agent A presented on agent B's NATS user authenticates as A, and then every publish on
 * A's subjects is refused by the server, so nothing reaches A's stream from B.
 */
const kasSecret = randomBytes(32);
const topology = createTestTopology();

function newUser() {
  const pair = nkeys.createUser();
  return { seed: new TextDecoder().decode(pair.getSeed()), nkey: pair.getPublicKey() };
}

const users = { authz: newUser(), projection: newUser(), gateway: newUser(), sync: newUser() };
const agentUsers = { a: newUser(), b: newUser() };
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

let gitlab: GitLabSimulator;
let agents: { a: SimAgent; b: SimAgent };
let server: PrivateNatsServer;
let database: TestDatabase;
let authzBus: Bus;
let syncBus: Bus;
let gatewayBus: Bus;
let asB: Bus;
let authz: AuthzService;

beforeAll(async () => {
  gitlab = await startGitLabSimulator({ kasSecret });
  gitlab.addUser({ username: "root", is_admin: true });
  const group = gitlab.addGroup({ path: "operators" });
  const project = gitlab.addProject({ path: "agent-project", namespace_id: group.id });
  agents = { a: gitlab.addAgent(project.id, "a"), b: gitlab.addAgent(project.id, "b") };

  server = await startPrivateNatsServer(
    renderAuthorization({
      topologyRoot: topology.root,
      services: {
        authz: users.authz.nkey,
        projection: users.projection.nkey,
        gateway: users.gateway.nkey,
        sync: users.sync.nkey,
      },
      agents: [
        { agentId: agents.a.id, nkey: agentUsers.a.nkey },
        { agentId: agents.b.id, nkey: agentUsers.b.nkey },
      ],
    }),
  );
  authzBus = await eventually(
    () => connectBus({ url: server.url, name: "kasmap-authz", topology, nkeySeed: users.authz.seed }),
    `the private nats-server to accept the authz user\n${server.output}`,
  );
  await ensureStreams(authzBus);
  database = await createTestDatabase();
  authz = await startAuthzService({
    bus: authzBus,
    databaseUrl: database.url,
    gitlabMode: true,
    gitlabAgentTokens: { gitlabUrl: gitlab.url, kasSecret, ttlSeconds: 60, timeoutMs: 5_000 },
    logger: createLogger("authz", "silent"),
  });
  syncBus = await connectBus({ url: server.url, name: "kasmap-sync", topology, nkeySeed: users.sync.seed });
  gatewayBus = await connectBus({
    url: server.url,
    name: "kasmap-gateway",
    topology,
    nkeySeed: users.gateway.seed,
  });
  asB = await connectBus({ url: server.url, name: "agent-b", topology, nkeySeed: agentUsers.b.seed });

  // What the sync service mirrors (only its NATS user may send mirror.*).
  for (const agent of [agents.a, agents.b]) {
    await mirrorSimulatedAgent(gitlab.state, agent, (name, request) =>
      requestCommand(syncBus, name, request),
    );
  }
});

afterAll(async () => {
  await asB?.close();
  await gatewayBus?.close();
  await syncBus?.close();
  await authz?.stop();
  await authzBus?.close();
  await server?.stop();
  await database?.drop();
  await gitlab?.close();
});

describe("a GitLab agent token on another agent's NATS user", () => {
  it("authenticates as the token's agent, whose subjects that NATS user may not publish on", async () => {
    const { token } = gitlab.issueAgentToken(agents.a.id);
    const { result } = await requestAgentAuthentication(asB, { token });
    expect(result.agent_id).toBe(agents.a.id);

    const refused = await permissionViolation(
      asB.js.publish(topology.subjects.clusterSnapshot(agents.a.id), encode({ forged: true })),
    );
    expect(refused.operation).toBe("publish");
    await permissionViolation(
      asB.js.publish(topology.subjects.clusterHeartbeat(agents.a.id), encode({ forged: true })),
    );
    const stored = await gatewayBus.jsm.direct.getMessage(topology.streamNames.cluster, {
      last_by_subj: topology.subjects.clusterSnapshot(agents.a.id),
    });
    expect(stored).toBeNull();
  });
});
