import { type AuthzService, startAuthzService } from "@kasmap/authz-service";
import { type Bus, DEAD_LETTER_HEADERS, ensureStreams, publishEvent } from "@kasmap/bus";
import type { StreamRole, Topology } from "@kasmap/contracts";
import { createDatabase, type ReadModelDatabase } from "@kasmap/db";
import { createLogger } from "@kasmap/logging";
import {
  DEFAULT_COLLECTOR_LIMITS,
  type ProjectionService,
  startProjectionService,
} from "@kasmap/projection-service";
import { testEvents } from "@kasmap/testing";
import {
  createTestDatabase,
  createTestTopology,
  eventually,
  type TestDatabase,
} from "@kasmap/testing/harness";
import { type PrivateNatsServer, startPrivateNatsServer } from "@kasmap/testing/private-servers";
import { type Kysely, sql } from "kysely";
import {
  agentPermissions,
  renderAuthorization,
  type SubjectPermissions,
  servicePermissions,
} from "../render-authorization.ts";
import { connectAsNkeyUser, newNkeyUser, newServiceUsers, servicePublicKeys } from "./nkey-test-users.ts";

/**
 * Test-only: the world of the NATS forgery tests (issue 7.1). A private nats-server whose
 * permissions come from `renderAuthorization`, one connection per credential kind (the four
 * services and one agent's collector, each as its own nkey user), the projection and authz
 * running as their own users on one test database, and a registry in which the agent exists
 * with an active token. It can say what each stream holds, what was dead-lettered and why, and
 * what the read model holds.
 */
export const CREDENTIAL_KINDS = ["agent", "authz", "projection", "gateway", "sync"] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/** The collector whose credentials the agent kind stands for. */
export const FORGERY_AGENT = 42;
/** The project the agent's config lives in, and its group and creator. */
export const FORGERY_PROJECT = { id: 11, groupId: 1, userId: 1 } as const;

/** The permissions `renderAuthorization` gives the credential kind (an agent's: agent 42's). */
export function credentialPermissions(
  topology: Topology,
  kind: CredentialKind,
  nkey: string,
): SubjectPermissions {
  return kind === "agent"
    ? agentPermissions(topology, FORGERY_AGENT, nkey)
    : servicePermissions(topology, kind, nkey);
}

export type DeadLetterSeen = { subject: string; reason: string };

export type ForgeryWorld = {
  topology: Topology;
  /** The connection of each credential kind, authenticated as its own nkey user. */
  bus(kind: CredentialKind): Bus;
  /** The permissions `renderAuthorization` gave that kind. */
  permissions(kind: CredentialKind): SubjectPermissions;
  db: Kysely<ReadModelDatabase>;
  /** Every dead letter so far, by `<stream name>:<seq>` of the message it sets aside (headers only). */
  deadLetters(): Promise<Map<string, DeadLetterSeen>>;
  /** The last sequence of every stream, by role. */
  lastSeqs(): Promise<Record<StreamRole, number>>;
  /** The position the projection committed on a stream (its last applied or dead-lettered message). */
  projectedSeq(stream: StreamRole): Promise<number>;
  /** Every row of every read-model table but the consumers' positions, as sorted JSON lines. */
  readModelRows(): Promise<Record<string, string[]>>;
  /** Everything the server logged, for failure messages. */
  serverOutput(): string;
  stop(): Promise<void>;
};

export async function startForgeryWorld(): Promise<ForgeryWorld> {
  const topology = createTestTopology();
  const users = { ...newServiceUsers(), agent: newNkeyUser() };
  const permissions = (kind: CredentialKind) => credentialPermissions(topology, kind, users[kind].nkey);
  const server: PrivateNatsServer = await startPrivateNatsServer(
    renderAuthorization({
      topologyRoot: topology.root,
      services: servicePublicKeys(users),
      agents: [{ agentId: FORGERY_AGENT, nkey: users.agent.nkey }],
    }),
  );
  const buses = {} as Record<CredentialKind, Bus>;
  for (const kind of CREDENTIAL_KINDS) {
    buses[kind] = await connectAsNkeyUser(server, topology, `forgery-${kind}`, users[kind]);
  }
  await ensureStreams(buses.authz);
  const database: TestDatabase = await createTestDatabase();
  const db = createDatabase<ReadModelDatabase>({ url: database.url, max: 2 });
  const silent = (name: string) => createLogger(name, "silent");
  // authz answers the commands the gateway may send; without an admin token it publishes nothing.
  const authz: AuthzService = await startAuthzService({
    bus: buses.authz,
    databaseUrl: database.url,
    logger: silent("authz"),
  });
  const projection: ProjectionService = await startProjectionService({
    bus: buses.projection,
    databaseUrl: database.url,
    logger: silent("projection"),
    // Every forgery in a dead letter of its own, with its reason: the agent's (286 in all) are
    // over the default budget of a minute, past which they would be counted in summaries.
    collectorLimits: { ...DEFAULT_COLLECTOR_LIMITS, deadLettersPerMinute: 10_000 },
  });
  await seedRegistry(topology, buses.authz, db);

  const streamName = (role: StreamRole) => topology.streamNames[role];
  const letters = new Map<string, DeadLetterSeen>();
  let lettersReadUpTo = 0;
  return {
    topology,
    bus: (kind) => buses[kind],
    permissions,
    db,
    async deadLetters() {
      // Read once each: the dead-letter stream only grows while the world runs.
      const name = streamName("deadLetter");
      const { state } = await buses.authz.jsm.streams.info(name);
      for (; state.messages > 0 && lettersReadUpTo < state.last_seq; lettersReadUpTo++) {
        const letter = await buses.authz.jsm.streams.getMessage(name, { seq: lettersReadUpTo + 1 });
        const h = letter?.header;
        if (!h?.get(DEAD_LETTER_HEADERS.reason)) continue;
        letters.set(`${h.get(DEAD_LETTER_HEADERS.stream)}:${h.get(DEAD_LETTER_HEADERS.seq)}`, {
          subject: h.get(DEAD_LETTER_HEADERS.subject),
          reason: h.get(DEAD_LETTER_HEADERS.reason),
        });
      }
      return letters;
    },
    async lastSeqs() {
      const seqs = {} as Record<StreamRole, number>;
      for (const { role, name } of topology.streams) {
        seqs[role] = (await buses.authz.jsm.streams.info(name)).state.last_seq;
      }
      return seqs;
    },
    async projectedSeq(stream) {
      const rows = await db
        .selectFrom("read_model.projection_positions")
        .select("stream_seq")
        .where("stream", "=", streamName(stream))
        .execute();
      return Math.max(0, ...rows.map((r) => Number(r.stream_seq)));
    },
    readModelRows: () => readModelRows(db),
    serverOutput: () => server.output,
    async stop() {
      await projection.stop();
      await authz.stop();
      await db.destroy();
      for (const kind of CREDENTIAL_KINDS) await buses[kind].close();
      await server.stop();
      await database.drop();
    },
  };
}

/** The registry as authz publishes it: the agent exists in its project and has an active token. */
async function seedRegistry(topology: Topology, authzBus: Bus, db: Kysely<ReadModelDatabase>): Promise<void> {
  const e = testEvents(topology);
  const { id, groupId, userId } = FORGERY_PROJECT;
  for (const event of [
    e.group(groupId),
    e.project(id, groupId),
    e.user(userId),
    e.agent(FORGERY_AGENT, id),
    e.agentToken(FORGERY_AGENT * 10, FORGERY_AGENT),
  ]) {
    await publishEvent(authzBus, event);
  }
  await eventually(
    async () =>
      (
        await db
          .selectFrom("read_model.agent_tokens")
          .select("id")
          .where("agent_id", "=", FORGERY_AGENT)
          .execute()
      ).length > 0 || undefined,
    "the agent's token in the read model",
  );
}

/** The consumers' positions move with every message, applied or not; the rest must not. */
const MOVING_TABLES = new Set(["projection_positions"]);

async function readModelRows(db: Kysely<ReadModelDatabase>): Promise<Record<string, string[]>> {
  const tables = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = 'read_model' and table_type = 'BASE TABLE' order by table_name`.execute(db);
  const rows: Record<string, string[]> = {};
  for (const { table_name } of tables.rows) {
    if (MOVING_TABLES.has(table_name)) continue;
    const result = await sql<{ row: string }>`
      select to_jsonb(t)::text as row from ${sql.table(`read_model.${table_name}`)} t`.execute(db);
    rows[table_name] = result.rows.map((r) => r.row).sort();
  }
  return rows;
}
