import { request as httpRequest } from "node:http";
import { digestToken } from "@kasmap/contracts";
import { eventually } from "@kasmap/testing/harness";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import {
  gatewayFixtureForFile,
  IDS,
  insertAgent,
  insertHeartbeat,
  insertSnapshot,
  OTHER_PROJECT,
  PROJECT,
  TOKENS,
} from "../testing/gateway-fixture.ts";
import { REGISTRY_CREATED_AT } from "../testing/registry-rows.ts";

const f = gatewayFixtureForFile();
const HOT = `/api/v4/projects/${PROJECT}/cluster_agents/300?with_cluster_info=true`;
/** The same read with a query the hot path does not take: always Fastify's route. */
const VIA_FASTIFY = `${HOT}&page=1`;
/** A token of the developer's of its own, revoked by one test. */
const REVOCABLE = "glpat-hot-read-revocable";

type RawAnswer = { status: number; headers: Array<[string, string]>; body: string };

/** One GET with its headers in wire order and with their original case (`rawHeaders`). */
function rawGet(path: string, token: string): Promise<RawAnswer> {
  const url = new URL(path, f.gateway.url);
  return new Promise((resolve, reject) => {
    const sent = httpRequest(url, { headers: { "private-token": token } }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const raw = response.rawHeaders;
        const headers: Array<[string, string]> = [];
        for (let i = 0; i < raw.length; i += 2) headers.push([raw[i] ?? "", raw[i + 1] ?? ""]);
        resolve({ status: response.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString() });
      });
    });
    sent.on("error", reject);
    sent.end();
  });
}

const withoutDate = (answer: RawAnswer) => ({
  ...answer,
  headers: answer.headers.filter(([name]) => name.toLowerCase() !== "date"),
});

beforeAll(async () => {
  await insertAgent(f.db, 300, "hot");
  await insertAgent(f.db, 301, "elsewhere", OTHER_PROJECT);
  await insertSnapshot(f.db, 300, "hot-cluster");
  await insertHeartbeat(f.db, 300, new Date());
  await f.db
    .insertInto("read_model.personal_access_tokens")
    .values({
      id: 300,
      user_id: IDS.developer,
      name: "t",
      token_sha256: digestToken(REVOCABLE),
      scopes: ["api"],
      revoked: false,
      expires_at: null,
      created_at: REGISTRY_CREATED_AT,
    })
    .execute();
});

describe("the hot agent read", () => {
  it("answers warm reads with Fastify's status, headers (in order) and body, and counts them alike", async () => {
    const cold = await rawGet(HOT, TOKENS.developer);
    expect(cold.status).toBe(200);
    const warm = await rawGet(HOT, TOKENS.developer);
    const viaFastify = await rawGet(VIA_FASTIFY, TOKENS.developer);
    expect(withoutDate(warm)).toEqual(withoutDate(viaFastify));
    expect(withoutDate(warm)).toEqual(withoutDate(cold));
    expect(warm.headers.map(([name]) => name.toLowerCase())).toEqual([
      "content-type",
      "content-length",
      "date",
      "connection",
      "keep-alive",
    ]);
    expect(JSON.parse(warm.body)).toMatchObject({ id: 300, cluster_info: { cluster_name: "hot-cluster" } });
    const metrics = await (await f.call("/metrics")).text();
    const answered = metrics.match(
      /kasmap_gateway_http_requests_total\{method="GET",route="\/api\/v4\/projects\/:id\/cluster_agents\/:agent_id",status="200"\} (\d+)/,
    );
    expect(Number(answered?.[1])).toBeGreaterThanOrEqual(3);
  });

  it.each([
    ["a reporter (below Developer)", TOKENS.reporter, 404],
    ["an outsider", TOKENS.outsider, 404],
    ["an expired token", TOKENS.expired, 401],
    ["a blocked user", TOKENS.blocked, 403],
    ["an unknown token", "glpat-nobody", 401],
  ])("leaves %s's refusal to Fastify, warm or not", async (_who, token, status) => {
    const first = await rawGet(HOT, token);
    const second = await rawGet(HOT, token);
    expect(first.status).toBe(status);
    expect(withoutDate(second)).toEqual(withoutDate(first));
  });

  it("refuses an agent of another project as Fastify does (404 Not found)", async () => {
    const path = `/api/v4/projects/${PROJECT}/cluster_agents/301?with_cluster_info=true`;
    await rawGet(`/api/v4/projects/${OTHER_PROJECT}/cluster_agents/301?with_cluster_info=true`, TOKENS.admin);
    const answer = await rawGet(path, TOKENS.admin);
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.body)).toEqual({ message: "404 Not found" });
  });

  it("stops accepting a revoked token as soon as the notice arrives, though its reads were remembered", async () => {
    for (let read = 0; read < 3; read++) expect((await rawGet(HOT, REVOCABLE)).status).toBe(200);
    expect((await memoCounts()).hits).toBeGreaterThan(0);
    await f.db
      .updateTable("read_model.personal_access_tokens")
      .set({ revoked: true })
      .where("id", "=", 300)
      .execute();
    publishNotice("personal_access_tokens", { user_id: IDS.developer });
    const refused = await eventually(async () => {
      const answer = await rawGet(HOT, REVOCABLE);
      return answer.status === 401 ? answer : undefined;
    }, "the revoked token refused");
    expect(JSON.parse(refused.body)).toMatchObject({ error: "invalid_token" });
    expect((await rawGet(HOT, TOKENS.developer)).status).toBe(200);
  });

  it("answers a remembered read with the agent's new facts once their notice arrives", async () => {
    for (let read = 0; read < 3; read++) await rawGet(HOT, TOKENS.developer);
    const before = (await memoCounts()).hits;
    expect(JSON.parse((await rawGet(HOT, TOKENS.developer)).body).cluster_info.cluster_name).toBe(
      "hot-cluster",
    );
    expect((await memoCounts()).hits).toBeGreaterThan(before);
    await f.db
      .updateTable("read_model.cluster_snapshots")
      .set({ cluster: sql`jsonb_set(cluster::jsonb, '{cluster_name}', '"moved-cluster"')` })
      .where("agent_id", "=", 300)
      .execute();
    publishNotice("cluster_snapshots", { agent_id: 300 });
    await eventually(async () => {
      const answer = JSON.parse((await rawGet(HOT, TOKENS.developer)).body);
      return answer.cluster_info.cluster_name === "moved-cluster" ? true : undefined;
    }, "the new facts served");
  });

  it("keeps a caller's verdict across the agent's heartbeat and serves the new last connection", async () => {
    for (let read = 0; read < 3; read++) await rawGet(HOT, TOKENS.developer);
    const before = await memoCounts();
    const heartbeat = new Date(Date.now() - 1_000);
    heartbeat.setMilliseconds(0);
    await f.db
      .updateTable("read_model.agent_connections")
      .set({ last_heartbeat_at: heartbeat.toISOString() })
      .where("agent_id", "=", 300)
      .execute();
    publishNotice("agent_connections", { agent_id: 300 });
    await eventually(async () => {
      const answer = JSON.parse((await rawGet(HOT, TOKENS.developer)).body);
      return answer.cluster_info.last_connection === heartbeat.toISOString() ? true : undefined;
    }, "the new heartbeat served");
    const after = await memoCounts();
    // Every read since was answered from the remembered verdict: the heartbeat changed the body only.
    expect(after.misses).toBe(before.misses);
    expect(after.hits).toBeGreaterThan(before.hits);
  });
});

let noticeSeq = 0;

/** The projection's change notice of `table`'s rows named by `ids`, as the projection sends it. */
function publishNotice(table: string, ids: { agent_id?: number; user_id?: number }) {
  noticeSeq += 1;
  f.bus.nc.publish(
    f.bus.topology.subjects.readModelChanged(table),
    JSON.stringify({ table, ...ids, stream: "X", seq: noticeSeq }),
  );
}

/** The remembered verdicts' hits and misses so far (`/metrics`). */
async function memoCounts(): Promise<{ hits: number; misses: number }> {
  const metrics = await (await f.call("/metrics")).text();
  const count = (kind: string) =>
    Number(
      metrics.match(
        new RegExp(`kasmap_gateway_cache_${kind}_total\\{cache="hot_agent_reads"\\} (\\d+)`),
      )?.[1] ?? 0,
    );
  return { hits: count("hits"), misses: count("misses") };
}
