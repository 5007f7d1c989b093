import { type Bus, type CommandOutcome, requestCommand } from "@kasmap/bus";
import {
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
import type { AuthzService, AuthzServiceOptions } from "../index.ts";
import { startAuthzService } from "../index.ts";
import type { AuthzDb } from "../store/schema.ts";

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
  restart(options?: Partial<AuthzServiceOptions>): Promise<void>;
  close(): Promise<void>;
};

export async function startAuthzTestEnvironment(): Promise<AuthzTestEnvironment> {
  const world = await createTestWorld({ name: "authz-int-test" });
  const { bus, database } = world;
  const adminToken = generateToken(TOKEN_PREFIXES.personalAccess);
  const logger = createLogger("authz-test", "silent");
  const start = (extra: Partial<AuthzServiceOptions> = {}) =>
    startAuthzService({ bus, databaseUrl: database.url, adminToken, logger, ...extra });
  const db: AuthzDb = createDatabase({ url: database.url, max: 2 });
  const env: AuthzTestEnvironment = {
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
    async restart(options) {
      await env.service.stop();
      env.service = await start(options);
    },
    async close() {
      await env.service.stop();
      await db.destroy();
      await world.teardown();
    },
  };
  const root = await db
    .selectFrom("authz.users")
    .select("id")
    .where("username", "=", "root")
    .executeTakeFirstOrThrow();
  env.adminId = root.id;
  return env;
}
