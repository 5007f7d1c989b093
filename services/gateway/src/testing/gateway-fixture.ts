import { type Bus, connectBus } from "@kasmap/bus";
import { digestToken } from "@kasmap/contracts";
import { createDatabase, migrateReadModel, type ReadModelDatabase } from "@kasmap/db";
import { createLogger } from "@kasmap/logging";
import { buildClusterFacts, type GatewayClient, gatewayClient } from "@kasmap/testing";
import {
  createTestDatabase,
  createTestTopology,
  type TestDatabase,
  testNatsUrl,
} from "@kasmap/testing/harness";
import type { Kysely } from "kysely";
import { beforeAll } from "vitest";
import { type GatewayLimitOptions, type RunningGateway, startGateway } from "../index.ts";
import { groupRow, projectRow, REGISTRY_CREATED_AT } from "./registry-rows.ts";

/**
 * A gateway on a fresh database and topology, with read-model rows inserted directly: in
 * production the projection writes them; here the gateway is tested alone.
 */
export type GatewayFixture = {
  bus: Bus;
  db: Kysely<ReadModelDatabase>;
  gateway: RunningGateway;
  database: TestDatabase;
  /** `fetch` against the gateway (`GatewayClient.fetch`): `call("/api/v4/user", { token })`. */
  call: GatewayClient["fetch"];
  close(): Promise<void>;
};

export const TOKENS = {
  admin: "glpat-admin",
  developer: "glpat-developer",
  reporter: "glpat-reporter",
  outsider: "glpat-outsider",
  blocked: "glpat-blocked",
  expired: "glpat-expired",
  job: "glcbt-job",
} as const;

export const IDS = { admin: 1, developer: 2, reporter: 3, outsider: 4, blocked: 5 } as const;
export const ROOT_GROUP = 10;
export const SUB_GROUP = 11;
export const PROJECT = 20;
export const OTHER_PROJECT = 21;

export async function startGatewayFixture(
  options: { writeWaitMs?: number } & GatewayLimitOptions = {},
): Promise<GatewayFixture> {
  const database = await createTestDatabase();
  const db = createDatabase<ReadModelDatabase>({ url: database.url, max: 2 });
  await migrateReadModel(db);
  await insertRegistry(db);
  const bus = await connectBus({
    url: testNatsUrl(),
    name: "gateway-int-test",
    topology: createTestTopology(),
  });
  const gateway = await startGateway({
    bus,
    databaseUrl: database.url,
    logger: createLogger("gateway-test", "silent"),
    ...options,
  });
  return {
    bus,
    db,
    gateway,
    database,
    call: gatewayClient(gateway.url).fetch,
    async close() {
      await gateway.stop();
      await bus.close();
      await db.destroy();
      await database.drop();
    },
  };
}

/**
 * The gateway fixture of one test file (the repository's one setup pattern): started in
 * `beforeAll`, before the file's own hooks, and closed by that hook's cleanup, which vitest runs
 * after the file's `afterAll` hooks (so they may still use it) and only if the start succeeded.
 * Filled in when started: read it inside hooks and tests only.
 */
export function gatewayFixtureForFile(
  options: { writeWaitMs?: number } & GatewayLimitOptions = {},
): GatewayFixture {
  const fixture = {} as GatewayFixture;
  beforeAll(async () => {
    const started = await startGatewayFixture(options);
    Object.assign(fixture, started);
    return () => started.close();
  });
  return fixture;
}

async function insertRegistry(db: Kysely<ReadModelDatabase>): Promise<void> {
  const users = Object.entries(IDS).map(([name, id]) => ({
    id,
    username: name,
    name: `User ${name}`,
    is_admin: name === "admin",
    state: name === "blocked" ? "blocked" : "active",
    created_at: REGISTRY_CREATED_AT,
  }));
  await db.insertInto("read_model.users").values(users).execute();
  const pat = (id: number, userId: number, token: string, extra: { expires_at?: string } = {}) => ({
    id,
    user_id: userId,
    name: "t",
    token_sha256: digestToken(token),
    scopes: ["api"],
    revoked: false,
    expires_at: extra.expires_at ?? null,
    created_at: REGISTRY_CREATED_AT,
  });
  await db
    .insertInto("read_model.personal_access_tokens")
    .values([
      pat(1, IDS.admin, TOKENS.admin),
      pat(2, IDS.developer, TOKENS.developer),
      pat(3, IDS.reporter, TOKENS.reporter),
      pat(4, IDS.outsider, TOKENS.outsider),
      pat(5, IDS.blocked, TOKENS.blocked),
      pat(6, IDS.developer, TOKENS.expired, { expires_at: "2020-01-01" }),
    ])
    .execute();
  await db
    .insertInto("read_model.groups")
    .values([
      groupRow({
        id: ROOT_GROUP,
        name: "Acme",
        path: "acme",
        traversal_ids: [ROOT_GROUP],
        full_path: "acme",
        full_name: "Acme",
      }),
      groupRow({
        id: SUB_GROUP,
        name: "Platform",
        path: "platform",
        traversal_ids: [ROOT_GROUP, SUB_GROUP],
        full_path: "acme/platform",
        full_name: "Acme / Platform",
      }),
    ])
    .execute();
  await db
    .insertInto("read_model.projects")
    .values([
      projectRow({
        id: PROJECT,
        name: "Infra",
        path_with_namespace: "acme/platform/infra",
        name_with_namespace: "Acme / Platform / Infra",
        traversal_ids: [ROOT_GROUP, SUB_GROUP],
        creator_id: IDS.admin,
      }),
      projectRow({
        id: OTHER_PROJECT,
        name: "Other",
        path_with_namespace: "acme/other",
        name_with_namespace: "Acme / Other",
        traversal_ids: [ROOT_GROUP],
        creator_id: IDS.admin,
      }),
    ])
    .execute();
  await db
    .insertInto("read_model.memberships")
    .values([
      // Developer through the root group only: exercises inheritance via traversal_ids.
      { id: 1, user_id: IDS.developer, source_type: "group", source_id: ROOT_GROUP, access_level: 30 },
      { id: 2, user_id: IDS.reporter, source_type: "project", source_id: PROJECT, access_level: 20 },
    ])
    .execute();
  await db
    .insertInto("read_model.jobs")
    .values({
      id: 1,
      project_id: PROJECT,
      pipeline_id: 1,
      user_id: IDS.developer,
      ref: "main",
      ref_protected: true,
      environment: JSON.stringify(null),
      status: "running",
      token_sha256: digestToken(TOKENS.job),
      // A job token works for a limited time after the job was registered: it started now.
      created_at: new Date().toISOString(),
    })
    .execute();
}

export async function insertAgent(
  db: Kysely<ReadModelDatabase>,
  id: number,
  name: string,
  projectId = PROJECT,
) {
  await db
    .insertInto("read_model.agents")
    .values({
      id,
      name,
      project_id: projectId,
      created_at: REGISTRY_CREATED_AT,
      created_by_user_id: IDS.admin,
    })
    .execute();
}

export async function insertSnapshot(db: Kysely<ReadModelDatabase>, agentId: number, clusterName: string) {
  await db
    .insertInto("read_model.cluster_snapshots")
    .values({
      agent_id: agentId,
      content_hash: "0".repeat(64),
      cluster: JSON.stringify(buildClusterFacts({ cluster_name: clusterName })),
      observed_at: "2024-05-01T10:00:00.000Z",
      stream_seq: 1,
    })
    .execute();
}

/**
 * The agent's last heartbeat `at`; `silenceConfirmedAt`: when the projection's disconnection
 * sweep confirmed its silence (`disconnected_reported_at`, what makes it `disconnected`).
 */
export async function insertHeartbeat(
  db: Kysely<ReadModelDatabase>,
  agentId: number,
  at: Date,
  silenceConfirmedAt: Date | null = null,
) {
  await db
    .insertInto("read_model.agent_connections")
    .values({
      agent_id: agentId,
      collector_id: "c1",
      last_heartbeat_at: at.toISOString(),
      disconnected_reported_at: silenceConfirmedAt,
    })
    .execute();
}
