import { type CommandHandlers, serveCommands } from "@kasmap/bus";
import { AgentNameSchema, type AuthzCommandName, KasmapError, type StreamPosition } from "@kasmap/contracts";
import { gitlabMemberBody } from "@kasmap/testing";
import type { Subscription } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  gatewayFixtureForFile,
  IDS,
  insertAgent,
  PROJECT,
  SUB_GROUP,
  TOKENS,
} from "./testing/gateway-fixture.ts";

/**
 * Writes through a stand-in for authz (`serveCommands`) and a stand-in projection that applies
 * each write 200 ms after authz answered, recording its position the way the projection does.
 * The gateway must not answer before the write is visible.
 */
const f = gatewayFixtureForFile({ writeWaitMs: 1_000 });
let responder: Subscription;
let seq = 0;
const received: Array<{ name: string; request: unknown }> = [];
const STREAM = "FAKE_REGISTRY";
const agents = `/api/v4/projects/${PROJECT}/cluster_agents`;

function applyLater(apply: () => Promise<unknown>): StreamPosition[] {
  seq += 1;
  const position = { stream: STREAM, seq };
  setTimeout(async () => {
    await apply();
    await f.db
      .insertInto("read_model.projection_positions")
      .values({ consumer: "fake", stream: STREAM, stream_seq: position.seq })
      .onConflict((oc) => oc.column("consumer").doUpdateSet({ stream_seq: position.seq }))
      .execute();
  }, 200);
  return [position];
}

const now = () => new Date().toISOString();

function fakeAuthz(): CommandHandlers {
  const refuse = async () => {
    throw new KasmapError("unavailable", "not used by this test");
  };
  const handlers: Partial<CommandHandlers> = {
    "agent.create": async (r) => {
      received.push({ name: "agent.create", request: r });
      // As authz: the model's format rule, then uniqueness.
      const format = AgentNameSchema.safeParse(r.name);
      if (!format.success) {
        throw new KasmapError("validation_failed", "invalid", {
          fields: { name: format.error.issues.map((issue) => issue.message) },
        });
      }
      if (r.name === "taken") {
        throw new KasmapError("validation_failed", "invalid", {
          fields: { name: ["has already been taken"] },
        });
      }
      const agent = {
        id: 500 + seq,
        name: r.name,
        project_id: r.project_id,
        created_at: now(),
        created_by_user_id: r.actor_user_id,
        deleted_at: null,
      };
      return {
        result: agent,
        positions: applyLater(() => insertAgent(f.db, agent.id, agent.name, agent.project_id)),
      };
    },
    "agent.delete": async (r) => ({
      result: {
        id: r.agent_id,
        name: "x",
        project_id: r.project_id,
        created_at: now(),
        created_by_user_id: null,
        deleted_at: now(),
      },
      positions: applyLater(() =>
        f.db.deleteFrom("read_model.agents").where("id", "=", r.agent_id).execute(),
      ),
    }),
    "group.create": async (r) => {
      if (r.path === "taken") {
        throw new KasmapError("validation_failed", "path has already been taken", {
          fields: { path: ["has already been taken"] },
        });
      }
      return {
        result: {
          id: 90,
          kind: "group",
          owner_id: null,
          name: r.name,
          path: r.path,
          description: null,
          parent_id: r.parent_id ?? null,
          traversal_ids: [10, 11, 90],
          full_path: `acme/platform/${r.path}`,
          full_name: `Acme / Platform / ${r.name}`,
          created_at: "2024-06-01T00:00:00Z",
        },
        positions: [],
      };
    },
    "agent_config.put": async (r) => {
      received.push({ name: "agent_config.put", request: r });
      return {
        result: {
          agent_id: r.agent_id,
          ci_access: { projects: 1, groups: 0 },
          user_access: { projects: 0, groups: 0 },
          dropped_count: 1,
          dropped: [{ access: "ci_access", target_type: "project", path: "nope/x", reason: "not-found" }],
        },
        positions: [],
      };
    },
    "membership.set": async (r) => {
      received.push({ name: "membership.set", request: r });
      if (r.existing === "refuse" && r.user_id === IDS.reporter) {
        throw new KasmapError("conflict", "Member already exists");
      }
      if (r.existing === "require" && r.user_id === IDS.outsider) {
        throw new KasmapError("not_found_unnamed", "Member");
      }
      return {
        result: {
          id: 9,
          user_id: r.user_id,
          source_type: r.source_type,
          source_id: r.source_id,
          access_level: r.access_level,
        },
        positions: [],
      };
    },
    // authz has stored it, but the projection never applies it: the gateway must answer anyway.
    "agent_token.revoke": async (r) => ({
      result: {
        id: r.token_id,
        agent_id: r.agent_id,
        kind: "agent",
        name: "t",
        description: null,
        status: "revoked",
        created_at: now(),
        created_by_user_id: null,
        last_used_at: null,
      },
      positions: [{ stream: STREAM, seq: 1_000_000 }],
    }),
  };
  return new Proxy(handlers, {
    get: (target, name) => target[name as AuthzCommandName] ?? refuse,
  }) as CommandHandlers;
}

beforeAll(async () => {
  responder = serveCommands(f.bus, fakeAuthz());
  await f.bus.nc.flush();
});

afterAll(async () => {
  responder?.unsubscribe();
});

/** `POST /api/v4/groups` with a JSON body, as a Developer of the parent group unless `token` says otherwise. */
const createGroup = (json: Record<string, unknown>, token: string = TOKENS.developer) =>
  f.call("/api/v4/groups", { method: "POST", json, token });

describe("writes through authz", () => {
  it("creates an agent and answers only once the projection shows it (read-your-writes)", async () => {
    const created = await f.call(agents, {
      method: "POST",
      json: { name: "fresh" },
      // Registering an agent takes Maintainer+ (GitLab's create_cluster), checked first.
      token: TOKENS.admin,
    });
    expect(created.status).toBe(201);
    const body = (await created.json()) as { id: number; name: string; config_project: { id: number } };
    expect(body).toMatchObject({ name: "fresh", config_project: { id: PROJECT } });
    const read = await f.call(`${agents}/${body.id}`, { token: TOKENS.developer });
    expect(read.status).toBe(200);
  });

  it("does not serve a cached agent after the caller deleted it", async () => {
    await insertAgent(f.db, 300, "doomed");
    expect((await f.call(`${agents}/300`, { token: TOKENS.developer })).status).toBe(200);
    // Deleting takes Maintainer+ (the gateway checks the role before looking the agent up).
    const deleted = await f.call(`${agents}/300`, { method: "DELETE", token: TOKENS.admin });
    expect(deleted.status).toBe(204);
    expect((await f.call(`${agents}/300`, { token: TOKENS.developer })).status).toBe(404);
  });

  it("leaves the agent name to authz (which audits a refusal), with the client address, and relays its field errors", async () => {
    const bad = await f.call(agents, { method: "POST", json: { name: "Bad_Name" }, token: TOKENS.admin });
    expect(bad.status).toBe(400);
    // GitLab renders the agent's model errors as one string (issue 10).
    expect(await bad.json()).toEqual({
      message:
        "400 Bad request - [\"Name can contain only lowercase letters, digits, and '-', but cannot start or end with '-'\"]",
    });
    const sent = received.filter((r) => r.name === "agent.create").at(-1);
    expect(sent?.request).toMatchObject({ name: "Bad_Name", actor_ip_address: "127.0.0.1" });
    // A name too long to record is refused by the gateway alone, with the model's errors.
    const before = received.length;
    const huge = await f.call(agents, {
      method: "POST",
      json: { name: "a".repeat(1025) },
      token: TOKENS.admin,
    });
    expect(await huge.json()).toEqual({
      message: '400 Bad request - ["Name is too long (maximum is 63 characters)"]',
    });
    expect(received.length).toBe(before);
    const taken = await f.call(agents, { method: "POST", json: { name: "taken" }, token: TOKENS.admin });
    expect(taken.status).toBe(400);
    expect(await taken.json()).toEqual({ message: '400 Bad request - ["Name has already been taken"]' });
  });

  it("answers after the wait limit when the projection lags", async () => {
    await insertAgent(f.db, 301, "with-token");
    const started = Date.now();
    const response = await f.call(`${agents}/301/tokens/5`, { method: "DELETE", token: TOKENS.admin });
    expect(response.status).toBe(204);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("forwards a YAML configuration and returns the summary with dropped entries", async () => {
    await insertAgent(f.db, 302, "configured");
    const yaml = "ci_access:\n  projects:\n    - id: acme/platform/infra\n";
    const response = await f.call(`${agents}/302/configuration`, {
      method: "PUT",
      headers: { "content-type": "application/yaml" },
      body: yaml,
      token: TOKENS.admin,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      agent_id: 302,
      ci_access: { projects: 1 },
      dropped: [{ reason: "not-found" }],
    });
  });

  it("creates a group under a visible parent; Grape-style errors for missing params", async () => {
    const created = await createGroup({ name: "Team", path: "team", parent_id: SUB_GROUP });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({
      id: 90,
      full_path: "acme/platform/team",
      parent_id: SUB_GROUP,
    });
    const missing = await createGroup({});
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ error: "name is missing, path is missing" });
    const hidden = await createGroup({ name: "T", path: "t", parent_id: SUB_GROUP }, TOKENS.outsider);
    expect(hidden.status).toBe(404);
  });

  it("adds a member by form post and refuses user creation to non-admins", async () => {
    const member = await f.call(`/api/v4/projects/${PROJECT}/members`, {
      method: "POST",
      form: { user_id: String(IDS.outsider), access_level: "30" },
      token: TOKENS.developer,
    });
    expect(member.status).toBe(201);
    expect(await member.json()).toMatchObject({ id: IDS.outsider, username: "outsider", access_level: 30 });
    const user = await f.call("/api/v4/users", {
      method: "POST",
      json: { username: "u", name: "U" },
      token: TOKENS.developer,
    });
    expect(user.status).toBe(403);
    expect(await user.json()).toEqual({ message: "403 Forbidden" });
  });

  it("answers a taken group path as GitLab's POST /groups does: Failed to save group {…}", async () => {
    const taken = await createGroup({ name: "Taken", path: "taken", parent_id: SUB_GROUP });
    expect(taken.status).toBe(400);
    expect(await taken.json()).toEqual({
      message: 'Failed to save group {:path=>["has already been taken"]}',
    });
  });

  it("asks authz to refuse an existing member on POST, and relays its 409", async () => {
    const again = await f.call(`/api/v4/projects/${PROJECT}/members`, {
      method: "POST",
      json: { user_id: IDS.reporter, access_level: 30 },
      token: TOKENS.developer,
    });
    // The fake authz here answers GitLab's conflict for this user: the gateway relays it as is.
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({ message: "Member already exists" });
    const sent = received.filter((r) => r.name === "membership.set").at(-1);
    expect(sent?.request).toMatchObject({ user_id: IDS.reporter, existing: "refuse" });
  });

  it("changes a member's level with PUT …/members/:user_id and relays authz's 404 for a non-member", async () => {
    const members = `/api/v4/projects/${PROJECT}/members`;
    const changed = await f.call(`${members}/${IDS.reporter}`, {
      method: "PUT",
      form: { access_level: "30", expires_at: "2030-01-31" },
      token: TOKENS.developer,
    });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toEqual(
      gitlabMemberBody({ id: IDS.reporter, username: "reporter", access_level: 30 }),
    );
    const sent = received.filter((r) => r.name === "membership.set").at(-1);
    expect(sent?.request).toMatchObject({
      source_type: "project",
      source_id: PROJECT,
      user_id: IDS.reporter,
      access_level: 30,
      existing: "require",
    });
    const missing = await f.call(`${members}/${IDS.outsider}`, {
      method: "PUT",
      json: { access_level: 30 },
      token: TOKENS.developer,
    });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ message: "404 Not found" });
  });

  it("answers PUT …/members/:user_id's malformed parameters as Grape does", async () => {
    const members = `/api/v4/projects/${PROJECT}/members`;
    const notInteger = await f.call(`${members}/abc`, {
      method: "PUT",
      json: { access_level: 30 },
      token: TOKENS.developer,
    });
    expect(notInteger.status).toBe(400);
    expect(await notInteger.json()).toEqual({ error: "user_id is invalid" });
    const noLevel = await f.call(`${members}/${IDS.reporter}`, {
      method: "PUT",
      json: {},
      token: TOKENS.developer,
    });
    expect(noLevel.status).toBe(400);
    expect(await noLevel.json()).toEqual({ error: "access_level is missing" });
  });

  it("reads POST …/members' parameters before the source, missing ones in GitLab's declaration order", async () => {
    for (const source of [`projects/${PROJECT}`, "projects/999999", "groups/999999"]) {
      const response = await f.call(`/api/v4/${source}/members`, {
        method: "POST",
        json: {},
        token: TOKENS.developer,
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: "access_level is missing, user_id is missing" });
    }
  });

  it("answers PUT /projects/:id/transfer as GitLab: namespace is missing, then change_namespace before the target", async () => {
    const transfer = `/api/v4/projects/${PROJECT}/transfer`;
    const missing = await f.call(transfer, { method: "PUT", json: {}, token: TOKENS.developer });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ error: "namespace is missing" });
    const before = received.length;
    const forbidden = await f.call(transfer, {
      method: "PUT",
      json: { namespace: 999_999 },
      token: TOKENS.developer,
    });
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toEqual({ message: "403 Forbidden" });
    expect(received.slice(before)).toEqual([]);
  });

  it("relays authz's refusal with its code (unavailable → 503)", async () => {
    const response = await f.call("/api/v4/projects", {
      method: "POST",
      json: { name: "P", namespace_id: SUB_GROUP },
      token: TOKENS.developer,
    });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ message: "503 Service Unavailable" });
  });
});
