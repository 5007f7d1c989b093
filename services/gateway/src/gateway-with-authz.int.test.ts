import { startAuthzService } from "@kasmap/authz-service";
import { type Bus, connectBus } from "@kasmap/bus";
import { createLogger } from "@kasmap/logging";
import { startProjectionService } from "@kasmap/projection-service";
import {
  createTestDatabase,
  createTestTopology,
  eventually,
  type TestDatabase,
  testNatsUrl,
} from "@kasmap/testing/harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningGateway, startGateway } from "./index.ts";

/**
 * The gateway with the real authz and projection services: every write goes through authz,
 * every read comes from the read model the projection filled. No row is inserted by hand.
 */
const ADMIN_TOKEN = "glpat-admin-system-test";
const silent = (service: string) => createLogger(service, "silent");
let database: TestDatabase;
let bus: Bus;
let gateway: RunningGateway;
const stops: Array<() => Promise<void>> = [];

beforeAll(async () => {
  database = await createTestDatabase();
  bus = await connectBus({ url: testNatsUrl(), name: "gateway-system-test", topology: createTestTopology() });
  const projection = await startProjectionService({
    bus,
    databaseUrl: database.url,
    logger: silent("projection"),
  });
  stops.push(() => projection.stop());
  const authz = await startAuthzService({
    bus,
    databaseUrl: database.url,
    adminToken: ADMIN_TOKEN,
    logger: silent("authz"),
  });
  stops.push(() => authz.stop());
  gateway = await startGateway({ bus, databaseUrl: database.url, logger: silent("gateway") });
  stops.push(() => gateway.stop());
  // The admin is bootstrapped by authz and reaches the read model through the projection.
  await eventually(
    async () => ((await call("GET", "/api/v4/user", ADMIN_TOKEN)).status === 200 ? true : undefined),
    "admin visible",
  );
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  for (const stream of bus?.topology.streams ?? []) await bus.jsm.streams.delete(stream.name).catch(() => {});
  await bus?.close();
  await database?.drop();
});

function call(method: string, path: string, token: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { "private-token": token };
  if (body !== undefined)
    headers["content-type"] = typeof body === "string" ? "text/plain" : "application/json";
  const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  return fetch(`${gateway.url}${path}`, {
    method,
    headers,
    ...(payload === undefined ? {} : { body: payload }),
  });
}

async function ok<T>(response: Promise<Response>, status: number): Promise<T> {
  const r = await response;
  const text = await r.text();
  expect(r.status, text).toBe(status);
  return (text ? JSON.parse(text) : null) as T;
}

describe("gateway with authz and projection", () => {
  it("runs the agent lifecycle, each write visible to the next read", async () => {
    const group = await ok<{ id: number }>(
      call("POST", "/api/v4/groups", ADMIN_TOKEN, { name: "Acme", path: "acme" }),
      201,
    );
    const project = await ok<{ id: number; path_with_namespace: string }>(
      call("POST", "/api/v4/projects", ADMIN_TOKEN, { name: "Infra Tools", namespace_id: group.id }),
      201,
    );
    expect(project.path_with_namespace).toBe("acme/infra-tools");
    const dev = await ok<{ id: number }>(
      call("POST", "/api/v4/users", ADMIN_TOKEN, { username: "dev", name: "Dev" }),
      201,
    );
    const pat = await ok<{ token: string }>(
      call("POST", `/api/v4/users/${dev.id}/personal_access_tokens`, ADMIN_TOKEN, {
        name: "cli",
        scopes: ["api"],
      }),
      201,
    );
    const agents = "/api/v4/projects/acme%2Finfra-tools/cluster_agents";
    expect((await call("GET", agents, pat.token)).status).toBe(404);
    await ok(
      call("POST", `/api/v4/groups/${group.id}/members`, ADMIN_TOKEN, { user_id: dev.id, access_level: 30 }),
      201,
    );
    expect(await ok(call("GET", agents, pat.token), 200)).toEqual([]);

    // A Developer may read agents but not create them: authz refuses, GitLab-style.
    expect((await call("POST", agents, pat.token, { name: "prod" })).status).toBe(403);
    const agent = await ok<{ id: number; name: string }>(
      call("POST", agents, ADMIN_TOKEN, { name: "prod" }),
      201,
    );
    const listed = await ok<Array<{ id: number }>>(call("GET", agents, pat.token), 200);
    expect(listed.map((a) => a.id)).toEqual([agent.id]);

    const token = await ok<{ id: number; token: string }>(
      call("POST", `${agents}/${agent.id}/tokens`, ADMIN_TOKEN, { name: "ci" }),
      201,
    );
    expect(token.token.startsWith("glagent-")).toBe(true);
    expect(await ok<unknown[]>(call("GET", `${agents}/${agent.id}/tokens`, pat.token), 200)).toHaveLength(1);
    await ok(call("DELETE", `${agents}/${agent.id}/tokens/${token.id}`, ADMIN_TOKEN), 204);
    expect(await ok<unknown[]>(call("GET", `${agents}/${agent.id}/tokens`, pat.token), 200)).toEqual([]);

    const summary = await ok<{ dropped: unknown[] }>(
      call(
        "PUT",
        `${agents}/${agent.id}/configuration`,
        ADMIN_TOKEN,
        "ci_access:\n  projects:\n    - id: acme/infra-tools\n",
      ),
      200,
    );
    expect(summary.dropped).toEqual([]);

    expect(await ok(call("GET", `${agents}/${agent.id}/cluster_info`, pat.token), 200)).toBeNull();
    await ok(call("DELETE", `${agents}/${agent.id}`, ADMIN_TOKEN), 204);
    expect((await call("GET", `${agents}/${agent.id}`, pat.token)).status).toBe(404);
  });
});
