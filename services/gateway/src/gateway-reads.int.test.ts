import { AgentResponseSchema, CONNECTED_WITHIN_MS } from "@kasmap/contracts";
import { buildClusterFacts } from "@kasmap/testing";
import { eventually } from "@kasmap/testing/harness";
import { beforeAll, describe, expect, it } from "vitest";
import {
  gatewayFixtureForFile,
  IDS,
  insertAgent,
  insertHeartbeat,
  insertSnapshot,
  PROJECT,
  TOKENS,
} from "./testing/gateway-fixture.ts";

const f = gatewayFixtureForFile();
const agents = `/api/v4/projects/${PROJECT}/cluster_agents`;

beforeAll(async () => {
  // Inserted out of name order: the API must sort by name, then id.
  await insertAgent(f.db, 100, "zeta");
  await insertAgent(f.db, 101, "alpha");
  await insertAgent(f.db, 102, "mid");
  await insertSnapshot(f.db, 101, "connected-cluster");
  await insertHeartbeat(f.db, 101, new Date());
  await insertSnapshot(f.db, 102, "stale-cluster");
  // Silent for 4 minutes, which the projection's sweep confirmed (no newer heartbeat unread).
  await insertHeartbeat(f.db, 102, new Date(Date.now() - CONNECTED_WITHIN_MS - 60_000), new Date());
  const token = (id: number, status: "active" | "revoked", lastUsed: string | null) => ({
    id,
    agent_id: 101,
    name: `token-${id}`,
    description: null,
    status,
    token_sha256: String(id).padStart(64, "0"),
    created_at: "2024-04-01T00:00:00.000Z",
    created_by_user_id: 1,
    last_used_at: lastUsed,
  });
  await f.db
    .insertInto("read_model.agent_tokens")
    .values([token(200, "active", "2024-05-01T09:00:00.123Z"), token(201, "revoked", null)])
    .execute();
});

describe("authentication", () => {
  it.each([
    ["no token", {}],
    ["an unknown token", { "private-token": "glpat-nope" }],
    ["a job token on a non-job endpoint", { "job-token": TOKENS.job }],
  ])("answers 401 for %s", async (_what, headers) => {
    const response = await f.call(agents, { headers });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ message: "401 Unauthorized" });
  });

  it("answers an expired token with GitLab's invalid_token body", async () => {
    const response = await f.call(agents, { token: TOKENS.expired });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      error: "invalid_token",
      error_description: "Token is expired. You can either do re-authorization or token refresh.",
    });
  });

  it("answers a blocked user's token 403 as GitLab does", async () => {
    const response = await f.call(agents, { token: TOKENS.blocked });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ message: "403 Forbidden - Your account has been blocked." });
  });

  it("accepts Authorization: Bearer", async () => {
    const response = await f.call(agents, { headers: { authorization: `Bearer ${TOKENS.developer}` } });
    expect(response.status).toBe(200);
  });
});

describe("GET /user", () => {
  it("shows is_admin to an administrator only (GitLab's UserWithAdmin vs UserPublic)", async () => {
    const own = async (token: string) => (await f.call("/api/v4/user", { token })).json();
    expect(await own(TOKENS.admin)).toMatchObject({ id: IDS.admin, is_admin: true });
    const developer = await own(TOKENS.developer);
    expect(developer).toMatchObject({ id: IDS.developer, username: "developer" });
    expect(developer).not.toHaveProperty("is_admin");
  });
});

describe("permissions", () => {
  it.each([
    ["an outsider", TOKENS.outsider, "404 Project Not Found"],
    // GitLab: `not_found!('ClusterAgents') unless can?(current_user, :read_cluster, user_project)`.
    ["a reporter", TOKENS.reporter, "404 ClusterAgents Not Found"],
  ])("hides the project's agents from %s with 404", async (_who, token, message) => {
    const response = await f.call(agents, { token });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message });
  });

  it("lets a developer through an inherited group membership, and an admin, read them", async () => {
    expect((await f.call(agents, { token: TOKENS.developer })).status).toBe(200);
    expect((await f.call(agents, { token: TOKENS.admin })).status).toBe(200);
  });

  it("shows the project itself to a reporter but not to an outsider", async () => {
    expect((await f.call(`/api/v4/projects/${PROJECT}`, { token: TOKENS.reporter })).status).toBe(200);
    expect((await f.call(`/api/v4/projects/${PROJECT}`, { token: TOKENS.outsider })).status).toBe(404);
  });
});

describe("agent list", () => {
  it("orders by name and paginates with GitLab's headers and Link", async () => {
    const response = await f.call(`${agents}?per_page=2`, { token: TOKENS.developer });
    const body = (await response.json()) as Array<{ id: number; name: string }>;
    expect(body.map((a) => a.name)).toEqual(["alpha", "mid"]);
    const h = response.headers;
    expect([h.get("x-page"), h.get("x-per-page"), h.get("x-total"), h.get("x-total-pages")]).toEqual([
      "1",
      "2",
      "3",
      "2",
    ]);
    expect([h.get("x-next-page"), h.get("x-prev-page")]).toEqual(["2", ""]);
    const next = `${f.gateway.url}${agents}?per_page=2&page=2`;
    expect(h.get("link")).toContain(`<${next}>; rel="next"`);
    expect(h.get("link")).toContain('rel="last"');
    const second = await f.call(`${agents}?per_page=2&page=2`, { token: TOKENS.developer });
    expect(((await second.json()) as Array<{ name: string }>).map((a) => a.name)).toEqual(["zeta"]);
    expect(second.headers.get("x-prev-page")).toBe("1");
  });

  it("reads per_page above 100 as 100, as GitLab (Kaminari's max_per_page) does", async () => {
    const response = await f.call(`${agents}?per_page=101`, { token: TOKENS.developer });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-per-page")).toBe("100");
  });
});

describe("agent body", () => {
  it("has exactly GitLab's keys, and cluster_info only when asked", async () => {
    const response = await f.call(`${agents}/101`, { token: TOKENS.developer });
    const body = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual([
      "config_project",
      "created_at",
      "created_by_user_id",
      "id",
      "name",
    ]);
    expect(AgentResponseSchema.parse(body)).toEqual({
      id: 101,
      name: "alpha",
      config_project: {
        id: PROJECT,
        description: null,
        name: "Infra",
        name_with_namespace: "Acme / Platform / Infra",
        path: "infra",
        path_with_namespace: "acme/platform/infra",
        created_at: "2024-03-20T20:42:40.221Z",
      },
      created_at: "2024-03-20T20:42:40.221Z",
      created_by_user_id: 1,
    });
    const withInfo = await f.call(`${agents}/101?with_cluster_info=true`, { token: TOKENS.developer });
    const info = ((await withInfo.json()) as { cluster_info: Record<string, unknown> }).cluster_info;
    expect(info).toMatchObject({ cluster_name: "connected-cluster", deployment_status: "connected" });
    expect(typeof info.last_connection).toBe("string");
  });

  it("derives deployment_status from the heartbeat's age and the confirmed silence; null cluster_info before any snapshot", async () => {
    const list = await f.call(`${agents}?with_cluster_info=true`, { token: TOKENS.developer });
    const body = (await list.json()) as Array<{
      name: string;
      cluster_info: { deployment_status: string } | null;
    }>;
    expect(body.map((a) => [a.name, a.cluster_info?.deployment_status ?? null])).toEqual([
      ["alpha", "connected"],
      ["mid", "disconnected"],
      ["zeta", null],
    ]);
    const alone = await f.call(`${agents}/100/cluster_info`, { token: TOKENS.developer });
    expect(alone.status).toBe(200);
    expect(await alone.text()).toBe("null");
  });

  it("is found by URL-encoded full path (any case) as by numeric id; other projects' agents are 404", async () => {
    for (const id of ["acme%2Fplatform%2Finfra", "ACME%2Fplatform%2FInfra", String(PROJECT)]) {
      const response = await f.call(`/api/v4/projects/${id}/cluster_agents/101`, { token: TOKENS.developer });
      expect(response.status).toBe(200);
    }
    const elsewhere = await f.call("/api/v4/projects/acme%2Fother/cluster_agents/101", {
      token: TOKENS.admin,
    });
    expect(elsewhere.status).toBe(404);
    // GitLab's finder is scoped to the project: ActiveRecord::RecordNotFound's bare body.
    expect(await elsewhere.json()).toEqual({ message: "404 Not found" });
  });
});

describe("agent tokens", () => {
  it("lists active tokens only, without last_used_at", async () => {
    const response = await f.call(`${agents}/101/tokens`, { token: TOKENS.developer });
    const body = (await response.json()) as Array<Record<string, unknown>>;
    expect(body.map((t) => t.id)).toEqual([200]);
    expect(Object.keys(body[0] ?? {}).sort()).toEqual(
      ["agent_id", "created_at", "created_by_user_id", "description", "id", "name", "status"].sort(),
    );
    expect(response.headers.get("x-total")).toBe("1");
  });

  it("shows one token with last_used_at, and a revoked one as 404", async () => {
    const one = await f.call(`${agents}/101/tokens/200`, { token: TOKENS.developer });
    expect(await one.json()).toMatchObject({ id: 200, last_used_at: "2024-05-01T09:00:00.123Z" });
    const revoked = await f.call(`${agents}/101/tokens/201`, { token: TOKENS.developer });
    expect(revoked.status).toBe(404);
    expect(await revoked.json()).toEqual({ message: "404 Not found" });
  });
});

describe("cache", () => {
  it("serves a cached value until the projection's change notice drops it", async () => {
    const read = async () => {
      const response = await f.call(`${agents}/102?with_cluster_info=true`, { token: TOKENS.developer });
      return (await response.json()) as { name: string; cluster_info: { cluster_name: string } };
    };
    expect((await read()).cluster_info.cluster_name).toBe("stale-cluster");
    await f.db
      .updateTable("read_model.cluster_snapshots")
      .set({
        cluster: JSON.stringify(buildClusterFacts({ cluster_name: "renamed" })),
      })
      .where("agent_id", "=", 102)
      .execute();
    await f.db.updateTable("read_model.agents").set({ name: "middle" }).where("id", "=", 102).execute();
    // Without a notice the cached entries stand (this is what makes the reads cheap)...
    expect(await read()).toMatchObject({ name: "mid", cluster_info: { cluster_name: "stale-cluster" } });
    // ...and the notices, as the projection publishes them after its commit, drop them.
    const notice = (table: string) =>
      f.bus.nc.publish(
        f.bus.topology.subjects.readModelChanged(table),
        JSON.stringify({ table, agent_id: 102, stream: "X", seq: 1 }),
      );
    notice("cluster_snapshots");
    notice("agents");
    await eventually(async () => {
      const body = await read();
      return body.name === "middle" && body.cluster_info.cluster_name === "renamed" ? true : undefined;
    }, "cache dropped by notices");
  });

  it("renders cluster_info alone once and follows its facts' and heartbeat's notices", async () => {
    const read = async () => {
      const response = await f.call(`${agents}/100/cluster_info`, { token: TOKENS.developer });
      expect(response.headers.get("content-type")).toMatch(/^application\/json/);
      return (await response.json()) as {
        cluster_name: string;
        deployment_status: string;
        last_connection: string | null;
      } | null;
    };
    const notice = (table: string) =>
      f.bus.nc.publish(
        f.bus.topology.subjects.readModelChanged(table),
        JSON.stringify({ table, agent_id: 100, stream: "X", seq: 1 }),
      );
    const renderedHits = async () => {
      const metrics = await (await f.call("/metrics")).text();
      const hits = /kasmap_gateway_cache_hits_total\{cache="cluster_info_bodies"\} (\d+)/.exec(metrics);
      return Number(hits?.[1]);
    };
    expect(await read()).toBeNull();
    await insertSnapshot(f.db, 100, "first-facts");
    // The body rendered from the cached (absent) facts is served again until the notice.
    const hits = await renderedHits();
    expect(await read()).toBeNull();
    expect(await renderedHits()).toBe(hits + 1);
    notice("cluster_snapshots");
    const facts = await eventually(async () => (await read()) ?? undefined, "the new facts");
    expect(facts).toMatchObject({ cluster_name: "first-facts", last_connection: null });
    expect(facts.deployment_status).not.toBe("connected");
    const heartbeat = new Date();
    await insertHeartbeat(f.db, 100, heartbeat);
    notice("agent_connections");
    await eventually(async () => {
      const body = await read();
      return body?.last_connection === heartbeat.toISOString() && body.deployment_status === "connected"
        ? true
        : undefined;
    }, "the heartbeat's connection");
    expect((await read())?.cluster_name).toBe("first-facts");
  });
});

describe("cache and authorization", () => {
  it("stops serving the cached agent body to a user who lost access once the membership notice arrives; others keep it", async () => {
    const path = `${agents}/101?with_cluster_info=true`;
    const status = async (token: string) => (await f.call(path, { token })).status;
    // Both warm every cache on the way, the rendered body (shared by every reader) included.
    expect(await status(TOKENS.developer)).toBe(200);
    expect(await status(TOKENS.admin)).toBe(200);
    const membership = await f.db
      .selectFrom("read_model.memberships")
      .selectAll()
      .where("user_id", "=", IDS.developer)
      .executeTakeFirstOrThrow();
    await f.db.deleteFrom("read_model.memberships").where("id", "=", membership.id).execute();
    const notice = () =>
      f.bus.nc.publish(
        f.bus.topology.subjects.readModelChanged("memberships"),
        JSON.stringify({ table: "memberships", user_id: IDS.developer, stream: "X", seq: 1 }),
      );
    try {
      notice();
      await eventually(
        async () => ((await status(TOKENS.developer)) === 404 ? true : undefined),
        "the developer refused after the notice",
      );
      expect(await status(TOKENS.admin)).toBe(200);
    } finally {
      await f.db.insertInto("read_model.memberships").values(membership).execute();
      notice();
      await eventually(
        async () => ((await status(TOKENS.developer)) === 200 ? true : undefined),
        "the membership restored",
      );
    }
  });
});

describe("operations", () => {
  it("answers a malformed JSON body with 400 and no internals", async () => {
    const response = await f.call(agents, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
      token: TOKENS.developer,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ message: "400 Bad request" });
  });

  it("answers unknown routes with GitLab's 404 body", async () => {
    const response = await f.call("/api/v4/nope", { token: TOKENS.admin });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: "404 Not Found" });
  });

  it("reports liveness, readiness and Prometheus metrics", async () => {
    expect((await f.call("/-/health")).status).toBe(200);
    const ready = await f.call("/-/readiness");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ok" });
    const metrics = await (await f.call("/metrics")).text();
    expect(metrics).toMatch(
      /kasmap_gateway_http_requests_total\{method="GET",route="\/api\/v4\/projects\/:id\/cluster_agents",status="200"\} \d+/,
    );
    expect(metrics).toContain("kasmap_gateway_http_request_duration_seconds_bucket");
  });
});
