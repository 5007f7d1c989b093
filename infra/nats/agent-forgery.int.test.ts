import { type Bus, connectBus, DEAD_LETTER_HEADERS, ensureStreams, publishEvent } from "@kasmap/bus";
import { EVENT_BINDINGS, EVENT_TYPES, type EventType, type KasmapEvent } from "@kasmap/contracts";
import { createDatabase, type ReadModelDatabase } from "@kasmap/db";
import { createLogger } from "@kasmap/logging";
import { type ProjectionService, startProjectionService } from "@kasmap/projection-service";
import {
  createTestDatabase,
  createTestTopology,
  eventually,
  type TestDatabase,
} from "@kasmap/testing/harness";
import { nkeys } from "@nats-io/nats-core";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterFacts, oneEventOfEachType, testEvents } from "../../services/projection/src/test-events.ts";
import { type PrivateNatsServer, startPrivateNatsServer } from "./private-nats-server.ts";
import { agentPermissions, renderAuthorization } from "./render-authorization.ts";

/**
 * NATS forgery (issue 7.1), for the agent credential kind: agent 42's own nkey user, on a
 * private nats-server whose permissions come from `renderAuthorization`, publishes every event
 * type on every subject it may publish. The projection runs as its own service user. Each
 * forged event is dead-lettered with its reason and changes nothing; the correctly typed
 * control event published last on the same subject is applied, which proves the consumer ran
 * past the forgeries (the test cannot pass with no consumer running).
 */
const AGENT = 42;
const topology = createTestTopology();
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

function newUser() {
  const pair = nkeys.createUser();
  return { seed: new TextDecoder().decode(pair.getSeed()), nkey: pair.getPublicKey() };
}
const users = { authz: newUser(), projection: newUser(), gateway: newUser(), agent: newUser() };

let server: PrivateNatsServer;
let authzBus: Bus;
let projectionBus: Bus;
let asAgent: Bus;
let database: TestDatabase;
let db: Kysely<ReadModelDatabase>;
let projection: ProjectionService;

beforeAll(async () => {
  server = await startPrivateNatsServer(
    renderAuthorization({
      topologyRoot: topology.root,
      services: { authz: users.authz.nkey, projection: users.projection.nkey, gateway: users.gateway.nkey },
      agents: [{ agentId: AGENT, nkey: users.agent.nkey }],
    }),
  );
  authzBus = await eventually(
    () => connectBus({ url: server.url, name: "kasmap-authz", topology, nkeySeed: users.authz.seed }),
    `the private nats-server to accept the authz user\n${server.output}`,
  );
  await ensureStreams(authzBus);
  projectionBus = await connectBus({
    url: server.url,
    name: "kasmap-projection",
    topology,
    nkeySeed: users.projection.seed,
  });
  asAgent = await connectBus({ url: server.url, name: "agent-42", topology, nkeySeed: users.agent.seed });
  database = await createTestDatabase();
  db = createDatabase<ReadModelDatabase>({ url: database.url, max: 2 });
  projection = await startProjectionService({
    bus: projectionBus,
    databaseUrl: database.url,
    logger: createLogger("projection", "silent"),
  });
  // The registry as authz publishes it: agent 42 exists and has an active token.
  const e = testEvents(topology);
  for (const event of [
    e.group(1),
    e.project(11, 1),
    e.user(1),
    e.agent(AGENT, 11),
    e.agentToken(420, AGENT),
  ]) {
    await publishEvent(authzBus, event);
  }
  await eventually(
    async () =>
      (await db.selectFrom("read_model.agent_tokens").select("id").where("agent_id", "=", AGENT).execute())
        .length > 0 || undefined,
    "agent 42's token in the read model",
  );
});

afterAll(async () => {
  await projection?.stop();
  await db?.destroy();
  for (const bus of [asAgent, projectionBus, authzBus]) await bus?.close();
  await server?.stop();
  await database?.drop();
});

/** Each subject agent 42 may publish, and the stream that stores it (none for commands and API calls). */
const permitted = () =>
  agentPermissions(topology, AGENT, users.agent.nkey).publish.map((subject) => ({
    subject,
    stream:
      subject === topology.subjects.clusterSnapshot(AGENT)
        ? ("cluster" as const)
        : subject === topology.subjects.clusterHeartbeat(AGENT)
          ? ("heartbeat" as const)
          : null,
  }));

/** The event of `type` forged onto `subject`: a valid event, with the envelope naming that subject. */
function forged(type: EventType, subject: string): KasmapEvent {
  return { ...oneEventOfEachType(topology, AGENT)[type], subject };
}

async function deadLetterReasons(subject: string): Promise<string[]> {
  const name = topology.streamNames.deadLetter;
  const info = await authzBus.jsm.streams.info(name);
  const reasons: string[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const letter = await authzBus.jsm.streams.getMessage(name, { seq });
    if (letter?.header.get(DEAD_LETTER_HEADERS.subject) === subject) {
      reasons.push(letter.header.get(DEAD_LETTER_HEADERS.reason));
    }
  }
  return reasons;
}

async function registryRowCounts() {
  const count = async (
    table: "read_model.users" | "read_model.personal_access_tokens" | "read_model.memberships",
  ) => (await db.selectFrom(table).select(db.fn.countAll<string>().as("n")).executeTakeFirstOrThrow()).n;
  return {
    users: await count("read_model.users"),
    tokens: await count("read_model.personal_access_tokens"),
    memberships: await count("read_model.memberships"),
    agents: (await db.selectFrom("read_model.agents").select("id").orderBy("id").execute()).map((r) => r.id),
  };
}

describe("agent 42's credentials: every permitted subject × every event type", () => {
  it("covers the subjects a collector may publish: two stream subjects, the rest store nothing", async () => {
    const subjects = permitted();
    expect(subjects.filter((s) => s.stream !== null).map((s) => s.stream)).toEqual(["cluster", "heartbeat"]);
    const lastSeqs = async () =>
      Promise.all(
        topology.streams.map(async (st) => (await authzBus.jsm.streams.info(st.name)).state.last_seq),
      );
    const before = await lastSeqs();
    for (const { subject } of subjects.filter((s) => s.stream === null)) {
      // A command or a JetStream API call: whatever answers it, no stream stores the body.
      asAgent.nc.publish(subject, encode(forged(EVENT_TYPES.userChanged, subject)));
    }
    await asAgent.nc.flush();
    expect(await lastSeqs()).toEqual(before);
  });

  it.each([
    { kind: "snapshot", subject: () => topology.subjects.clusterSnapshot(AGENT) },
    { kind: "heartbeat", subject: () => topology.subjects.clusterHeartbeat(AGENT) },
  ])(
    "dead-letters every forged type on the $kind subject and applies the control event",
    async ({ subject }) => {
      const target = subject();
      const stream = permitted().find((s) => s.subject === target)?.stream;
      const own = (Object.keys(EVENT_BINDINGS) as EventType[]).filter(
        (type) => EVENT_BINDINGS[type].stream === stream && type.includes(target.split(".").at(-1) ?? "?"),
      );
      expect(own).toHaveLength(1);
      const forgedTypes = Object.values(EVENT_TYPES).filter((type) => !own.includes(type));
      const before = await registryRowCounts();

      for (const type of forgedTypes) await asAgent.js.publish(target, encode(forged(type, target)));
      const control =
        stream === "cluster"
          ? testEvents(topology).snapshot(AGENT, clusterFacts({ cluster_name: "control" }))
          : testEvents(topology).heartbeat(AGENT, new Date().toISOString(), "control");
      await asAgent.js.publish(target, encode(control));

      await eventually(async () => {
        if (stream === "cluster") {
          const row = await db
            .selectFrom("read_model.cluster_snapshots")
            .select("cluster")
            .where("agent_id", "=", AGENT)
            .executeTakeFirst();
          return (
            (row?.cluster as { cluster_name?: string } | undefined)?.cluster_name === "control" || undefined
          );
        }
        const row = await db
          .selectFrom("read_model.agent_connections")
          .select("collector_id")
          .where("agent_id", "=", AGENT)
          .executeTakeFirst();
        return row?.collector_id === "control" || undefined;
      }, "the control event applied");

      const reasons = await deadLetterReasons(target);
      expect(reasons).toHaveLength(forgedTypes.length);
      for (const type of forgedTypes) {
        expect(reasons.filter((r) => r.includes(type))).toHaveLength(1);
      }
      expect(await registryRowCounts()).toEqual(before);
    },
  );
});
