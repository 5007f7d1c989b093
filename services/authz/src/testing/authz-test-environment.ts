import { type Bus, type CommandOutcome, requestCommand } from "@kasmap/bus";
import {
  type AccessLevel,
  type AuthzCommandName,
  type AuthzCommandRequest,
  generateToken,
  KasmapError,
  TOKEN_PREFIXES,
} from "@kasmap/contracts";
import { createDatabase } from "@kasmap/db";
import { createLogger } from "@kasmap/logging";
import type { TestDatabase } from "@kasmap/testing/harness";
import { createTestWorld } from "@kasmap/testing/world";
import type { Selectable } from "kysely";
import { afterAll, beforeAll } from "vitest";
import type { AuthzService, AuthzServiceOptions } from "../index.ts";
import { startAuthzService } from "../index.ts";
import type { AuthzDatabase, AuthzDb } from "../store/schema.ts";

/** Options of the authz service a test environment runs, beyond its bus, database and admin. */
export type AuthzTestServiceOptions = Partial<
  Omit<AuthzServiceOptions, "bus" | "databaseUrl" | "adminToken">
>;

/**
 * One integration-test file's world: its own database and stream names on the shared servers,
 * a running authz service with a bootstrap admin, and a command client like the gateway's.
 */
export type AuthzTestEnvironment = {
  bus: Bus;
  database: TestDatabase;
  /** Read access to schema `authz`, for assertions only. */
  db: AuthzDb;
  adminToken: string;
  adminId: number;
  service: AuthzService;
  command<N extends AuthzCommandName>(name: N, request: AuthzCommandRequest<N>): Promise<CommandOutcome<N>>;
  /** The error a command fails with (fails the test if it succeeds). */
  refusal<N extends AuthzCommandName>(name: N, request: AuthzCommandRequest<N>): Promise<KasmapError>;
  /**
   * As the admin: group `g`, project `g/p` and agent `a` in it, the usual starting point; with
   * `agentCreated`, the outcome of `agent.create` (its events' stream positions).
   */
  registerAgent(): Promise<{
    actor_user_id: number;
    group_id: number;
    project_id: number;
    agent_id: number;
    agentCreated: CommandOutcome<"agent.create">;
  }>;
  /** As the admin: a user (`name` defaults to `username`); its id. */
  createUser(username: string, name?: string): Promise<number>;
  /** As the admin: `user_id` becomes a member of the group or project at `access_level`. */
  setMembership(
    source: { group: number } | { project: number },
    user_id: number,
    access_level: AccessLevel,
  ): Promise<void>;
  /** The agent's stored configuration (`authz.agent_configs`), if it has one. */
  storedAgentConfig(agentId: number): Promise<Selectable<AuthzDatabase["authz.agent_configs"]> | undefined>;
  /** Stops the service and starts it again, with `options` over the ones it was started with. */
  restart(options?: AuthzTestServiceOptions): Promise<void>;
  close(): Promise<void>;
};

export async function startAuthzTestEnvironment(
  options: AuthzTestServiceOptions = {},
): Promise<AuthzTestEnvironment> {
  const env = {} as AuthzTestEnvironment;
  await fillAuthzTestEnvironment(env, options);
  return env;
}

/**
 * The environment of one test file (the repository's one setup pattern): started in `beforeAll`,
 * before the file's own hooks (it registers first), and closed in `afterAll`, after the file's own
 * (vitest runs those in reverse). Filled in when started: read it inside hooks and tests only.
 */
export function authzTestEnvironmentForFile(options: AuthzTestServiceOptions = {}): AuthzTestEnvironment {
  const env = {} as AuthzTestEnvironment;
  beforeAll(async () => {
    await fillAuthzTestEnvironment(env, options);
  });
  afterAll(async () => {
    await env.close?.();
  });
  return env;
}

/**
 * Starts the world and the service into `env` itself rather than a copy, so that what `restart`
 * changes (`env.service`) is what every holder of `env` sees.
 */
async function fillAuthzTestEnvironment(env: AuthzTestEnvironment, options: AuthzTestServiceOptions) {
  const world = await createTestWorld({ name: "authz-int-test" });
  const { bus, database } = world;
  const adminToken = generateToken(TOKEN_PREFIXES.personalAccess);
  const logger = createLogger("authz-test", "silent");
  const start = (extra: AuthzTestServiceOptions = {}) =>
    startAuthzService({ logger, ...options, ...extra, bus, databaseUrl: database.url, adminToken });
  const db: AuthzDb = createDatabase({ url: database.url, max: 2 });
  Object.assign(env, {
    bus,
    database,
    db,
    adminToken,
    adminId: 0,
    service: await start(),
    command: (name, request) => requestCommand(bus, name, request),
    async refusal(name, request) {
      try {
        await requestCommand(bus, name, request);
      } catch (error) {
        if (error instanceof KasmapError) return error;
        throw error;
      }
      throw new Error(`${name} succeeded but was expected to be refused`);
    },
    async registerAgent() {
      const actor_user_id = env.adminId;
      const group = await env.command("group.create", { actor_user_id, name: "G", path: "g" });
      const project = await env.command("project.create", {
        actor_user_id,
        name: "p",
        path: "p",
        namespace_id: group.result.id,
      });
      const agent = await env.command("agent.create", {
        actor_user_id,
        project_id: project.result.id,
        name: "a",
      });
      return {
        actor_user_id,
        group_id: group.result.id,
        project_id: project.result.id,
        agent_id: agent.result.id,
        agentCreated: agent,
      };
    },
    async createUser(username, name = username) {
      return (await env.command("user.create", { actor_user_id: env.adminId, username, name })).result.id;
    },
    async setMembership(source, user_id, access_level) {
      const [source_type, source_id] =
        "group" in source ? ["group" as const, source.group] : ["project" as const, source.project];
      await env.command("membership.set", {
        actor_user_id: env.adminId,
        source_type,
        source_id,
        user_id,
        access_level,
      });
    },
    storedAgentConfig: (agentId) =>
      db.selectFrom("authz.agent_configs").selectAll().where("agent_id", "=", agentId).executeTakeFirst(),
    async restart(extra) {
      await env.service.stop();
      env.service = await start(extra);
    },
    async close() {
      await env.service.stop();
      await db.destroy();
      await world.teardown();
    },
  } satisfies AuthzTestEnvironment);
  const root = await db
    .selectFrom("authz.users")
    .select("id")
    .where("username", "=", "root")
    .executeTakeFirstOrThrow();
  env.adminId = root.id;
}
