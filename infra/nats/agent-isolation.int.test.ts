import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type AuthzDatabase, type AuthzService, startAuthzService } from "@kasmap/authz-service";
import { type Bus, connectBus, ensureStreams, requestAgentAuthentication, requestCommand } from "@kasmap/bus";
import { generateToken, KasmapError, TOKEN_PREFIXES } from "@kasmap/contracts";
import { createDatabase } from "@kasmap/db";
import { DEMO_CLUSTER_DIRECTORY, KubeSimulator } from "@kasmap/kube-simulator";
import { createLogger } from "@kasmap/logging";
import { legacyCollectorSubjectToken } from "@kasmap/testing";
import {
  createTestDatabase,
  createTestTopology,
  eventually,
  type TestDatabase,
} from "@kasmap/testing/harness";
import { type PrivateNatsServer, startPrivateNatsServer } from "@kasmap/testing/private-servers";
import { nkeys, PermissionViolationError } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderAuthorization } from "./render-authorization.ts";
import { permissionViolation as violation } from "./testing/permission-violation.ts";

/**
 * "A collector may publish only on its own agent's subjects", against a real nats-server of
 * this file's own whose `authorization` block comes from `renderAuthorization`: what agent 42's
 * nkey user can do, what it cannot, and the real collector program working through it. authz
 * runs as its own user; the commands and stream reads of this file go as the gateway's user.
 */
const ROOT_DIR = fileURLToPath(new URL("../..", import.meta.url));

function newUser() {
  const pair = nkeys.createUser();
  return { seed: new TextDecoder().decode(pair.getSeed()), nkey: pair.getPublicKey() };
}

const topology = createTestTopology();
const authzUser = newUser();
const projectionUser = newUser();
const gatewayUser = newUser();
const agent42 = newUser();
const agent43 = newUser();
/** Agent 44's user keeps the permissions rendered before sender subjects (the subject without one). */
const agent44 = newUser();
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

let server: PrivateNatsServer;
let authzBus: Bus;
/** The gateway's identity: sends the commands and reads the streams in this file. */
let bus: Bus;
let as42: Bus;
let as43: Bus;
let database: TestDatabase;
let authz: AuthzService;
let simulator: KubeSimulator | null = null;
let collector: ChildProcess | null = null;
let tempDir: string;
const adminToken = generateToken(TOKEN_PREFIXES.personalAccess);
const agentUsers = [
  { agentId: 42, nkey: agent42.nkey },
  { agentId: 43, nkey: agent43.nkey },
  { agentId: 44, nkey: agent44.nkey },
];
const render = () =>
  renderAuthorization({
    topologyRoot: topology.root,
    services: {
      authz: authzUser.nkey,
      projection: projectionUser.nkey,
      gateway: gatewayUser.nkey,
      sync: nkeys.createUser().getPublicKey(),
    },
    agents: agentUsers,
  }).replace(`agent_token.authenticate.${agent44.nkey}`, "agent_token.authenticate");

beforeAll(async () => {
  tempDir = mkdtempSync(join(tmpdir(), "kasmap-agent-isolation-"));
  server = await startPrivateNatsServer(render());
  authzBus = await eventually(
    () => connectBus({ url: server.url, name: "kasmap-authz", topology, nkeySeed: authzUser.seed }),
    `the private nats-server to accept the authz user\n${server.output}`,
  );
  await ensureStreams(authzBus);
  bus = await connectBus({ url: server.url, name: "kasmap-gateway", topology, nkeySeed: gatewayUser.seed });
  database = await createTestDatabase();
  authz = await startAuthzService({
    bus: authzBus,
    databaseUrl: database.url,
    adminToken,
    logger: createLogger("authz", "silent"),
  });
  as42 = await connectBus({ url: server.url, name: "agent-42", topology, nkeySeed: agent42.seed });
  as43 = await connectBus({ url: server.url, name: "agent-43", topology, nkeySeed: agent43.seed });
});

afterAll(async () => {
  if (collector && collector.exitCode === null) {
    const exited = new Promise((resolve) => collector?.once("exit", resolve));
    collector.kill("SIGTERM");
    await exited;
  }
  await simulator?.close();
  await as42?.close();
  await as43?.close();
  await authz?.stop();
  await bus?.close();
  await authzBus?.close();
  await server?.stop();
  await database?.drop();
  rmSync(tempDir, { recursive: true, force: true });
});

describe("agent 42's nkey user", () => {
  it("publishes a snapshot and a heartbeat on its own subjects and gets the acks", async () => {
    const snapshot = await as42.js.publish(topology.subjects.clusterSnapshot(42), encode({ n: 1 }));
    expect(snapshot.stream).toBe(topology.streamNames.cluster);
    const heartbeat = await as42.js.publish(topology.subjects.clusterHeartbeat(42), encode({ beat: 1 }));
    expect(heartbeat.stream).toBe(topology.streamNames.heartbeat);
  });

  it("reads the last message on its own snapshot subject", async () => {
    await as42.js.publish(topology.subjects.clusterSnapshot(42), encode({ n: 2 }));
    const last = await as42.jsm.direct.getMessage(topology.streamNames.cluster, {
      last_by_subj: topology.subjects.clusterSnapshot(42),
    });
    expect(last?.json()).toEqual({ n: 2 });
  });

  it("cannot publish on agent 43's subjects: refused, nothing stored", async () => {
    const refused = await violation(
      as42.js.publish(topology.subjects.clusterSnapshot(43), encode({ forged: 1 })),
    );
    expect(refused.operation).toBe("publish");
    await violation(as42.js.publish(topology.subjects.clusterHeartbeat(43), encode({ forged: 1 })));
    const stored = await bus.jsm.direct.getMessage(topology.streamNames.cluster, {
      last_by_subj: topology.subjects.clusterSnapshot(43),
    });
    expect(stored).toBeNull();
  });

  it("cannot read agent 43's snapshots, by direct get or by stream sequence", async () => {
    await as43.js.publish(topology.subjects.clusterSnapshot(43), encode({ agent: 43 }));
    await violation(
      as42.jsm.direct.getMessage(topology.streamNames.cluster, {
        last_by_subj: topology.subjects.clusterSnapshot(43),
      }),
    );
    await violation(as42.jsm.streams.getMessage(topology.streamNames.cluster, { seq: 1 }));
    await violation(as42.jsm.streams.info(topology.streamNames.cluster));
  });

  it.each([
    { what: "agent 43's subjects", subject: `${topology.root}.cluster.43.>` },
    { what: "the registry", subject: topology.wildcards.registry },
    { what: "authz commands", subject: topology.wildcards.authzCommands },
    { what: "every inbox (other clients' replies)", subject: "_INBOX.>" },
  ])("cannot subscribe to $what", async ({ subject }) => {
    const subscription = as42.nc.subscribe(subject);
    const closedWith = await subscription.closed;
    expect(closedWith).toBeInstanceOf(PermissionViolationError);
  });

  it("may ask authz to authenticate an agent token, as itself, and nothing else", async () => {
    const refusal = await requestAgentAuthentication(as42, { token: "glagent-unknown" }).catch(
      (error: unknown) => error,
    );
    // authz answered (a refusal of the token), so the request and its reply went through.
    expect(refusal).toBeInstanceOf(KasmapError);
    expect((refusal as KasmapError).code).toBe("unauthorized");
    const request = (subject: string) =>
      as42.nc.request(subject, encode({ token: "glagent-unknown" }), { timeout: 5_000 });
    // Not as another sender, nor as no sender: authz's turn per sender holds only if the
    // sender a subject names is the publisher.
    const authenticate = "agent_token.authenticate";
    await violation(request(topology.subjects.authzCommandFromSender(authenticate, agent43.nkey)));
    await violation(request(topology.subjects.authzCommand(authenticate)));
    await violation(
      as42.nc.request(topology.subjects.authzCommand("agent.create"), encode({ actor_user_id: 1 }), {
        timeout: 5_000,
      }),
    );
  });

  it("falls back to the subject without a sender where the permissions predate sender subjects", async () => {
    const as44 = await connectBus({ url: server.url, name: "agent-44", topology, nkeySeed: agent44.seed });
    try {
      const refusal = await requestAgentAuthentication(as44, { token: "glagent-unknown" }).catch(
        (error: unknown) => error,
      );
      expect((refusal as KasmapError).code).toBe("unauthorized");
    } finally {
      await as44.close();
    }
  });
});

describe("a flood of agent 42's heartbeats", () => {
  it("holds at most 17 of its messages in the heartbeat stream, however many it publishes", async () => {
    const subjects = [
      topology.subjects.clusterHeartbeat(42),
      ...topology.subjects.clusterCollectorHeartbeatSubjects(42),
    ];
    // A subject per invented collector is refused: the permission names 16, not `heartbeat.*`.
    for (const token of ["zz", "0a", legacyCollectorSubjectToken("invented")]) {
      await violation(
        as42.js.publish(`${topology.subjects.clusterHeartbeat(42)}.${token}`, encode({ forged: 1 })),
      );
    }
    const acks = [];
    for (let i = 0; i < 2_000; i++) {
      acks.push(as42.js.publish(subjects[i % subjects.length] ?? "", encode({ flood: i })));
    }
    await Promise.all(acks);
    const info = await bus.jsm.streams.info(topology.streamNames.heartbeat, {
      subjects_filter: `${topology.subjects.clusterHeartbeat(42)}.>`,
    });
    const stored = Object.values(info.state.subjects ?? {}).reduce((sum, count) => sum + count, 0);
    // The 16 replica subjects, one message each (plus the agent's own subject, outside the filter).
    expect(stored).toBe(16);
    const latest = await bus.jsm.direct.getMessage(topology.streamNames.heartbeat, {
      last_by_subj: topology.subjects.clusterHeartbeat(42),
    });
    expect(latest?.json<{ flood: number }>().flood).toBe(1_989);
  });
});

describe("the collector program with an nkey seed", () => {
  it("authenticates, then publishes its snapshot and heartbeat through the restricted account", async () => {
    const agent = await registerAgent();
    const user = newUser();
    agentUsers.push({ agentId: agent.agentId, nkey: user.nkey });
    server.reloadAuthorization(render());
    // The new user exists once the reload is done: connect until it is accepted.
    const probe = await eventually(
      () => connectBus({ url: server.url, name: "reload-probe", topology, nkeySeed: user.seed }),
      "the reloaded config to accept the new agent user",
      // A reload is a SIGHUP the server handles in its own time; on a loaded 2-core CI box
      // that has taken more than 10 s.
      30_000,
    );
    await probe.close();

    simulator = new KubeSimulator();
    await simulator.loadFromDirectory(DEMO_CLUSTER_DIRECTORY);
    await simulator.start();
    const kubeconfig = join(tempDir, "kubeconfig");
    await simulator.writeKubeconfig(kubeconfig);
    let output = "";
    collector = spawn(
      process.execPath,
      [
        join(ROOT_DIR, "services/collector/bin/kasmap-collector.mjs"),
        "--coalesce-ms",
        "50",
        "--heartbeat-seconds",
        "1",
      ],
      {
        env: {
          ...process.env,
          KASMAP_AGENT_TOKEN: agent.token,
          NATS_NKEY_SEED: user.seed,
          NATS_URL: server.url,
          KASMAP_TOPOLOGY_ROOT: topology.root,
          KUBECONFIG: kubeconfig,
          POD_IP: "10.244.1.17",
          POD_NAMESPACE: "gitlab-agent",
          LOG_LEVEL: "debug",
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    collector.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    collector.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });

    const snapshot = await eventually(
      async () =>
        (await bus.jsm.direct.getMessage(topology.streamNames.cluster, {
          last_by_subj: topology.subjects.clusterSnapshot(agent.agentId),
        })) ?? undefined,
      "the collector's snapshot in the stream",
      30_000,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\ncollector output:\n${output}`);
    });
    const event = snapshot.json<{ data: { agent_id: number; cluster: { node_count: number } } }>();
    expect(event.data.agent_id).toBe(agent.agentId);
    expect(event.data.cluster.node_count).toBe(3);
    await eventually(
      async () =>
        (await bus.jsm.direct.getMessage(topology.streamNames.heartbeat, {
          last_by_subj: topology.subjects.clusterCollectorHeartbeats(agent.agentId),
        })) ?? undefined,
      "the collector's heartbeat",
    );
    // The start-up read of the last snapshot went through too (it logs this only on failure).
    expect(output).not.toContain("no previous snapshot read");
    expect(output).not.toContain(user.seed);
  });
});

/** Registers group → project → agent → token in authz as its bootstrap admin. */
async function registerAgent(): Promise<{ agentId: number; token: string }> {
  const db = createDatabase<AuthzDatabase>({ url: database.url, max: 1 });
  const root = await db
    .selectFrom("authz.users")
    .select("id")
    .where("username", "=", "root")
    .executeTakeFirstOrThrow()
    .finally(() => db.destroy());
  const actor = { actor_user_id: root.id };
  const { result: group } = await requestCommand(bus, "group.create", { ...actor, name: "Ops", path: "ops" });
  const { result: project } = await requestCommand(bus, "project.create", {
    ...actor,
    name: "Clusters",
    path: "clusters",
    namespace_id: group.id,
  });
  const { result: agent } = await requestCommand(bus, "agent.create", {
    ...actor,
    project_id: project.id,
    name: "prod-agent",
  });
  const { result: token } = await requestCommand(bus, "agent_token.create", {
    ...actor,
    project_id: project.id,
    agent_id: agent.id,
    name: "collector",
  });
  return { agentId: agent.id, token: token.plaintext };
}
