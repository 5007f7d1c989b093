import { eventually } from "@kasmap/testing/harness";
import { beforeAll, describe, expect, it } from "vitest";
import { facts, publishSnapshot } from "./incident-response-fixture.ts";
import { buildWorld, type World } from "./principal-world.ts";
import { type RawResponse, sendRaw } from "./raw-http.ts";
import { kasmapSystemForFile } from "./system-for-file.ts";

/**
 * Issue 7 item 12: inputs a hostile client can send must answer 4xx, never 5xx. GitLab answers
 * NUL bytes and malformed UTF-8 anywhere in the path, query or parameters with `400 Bad Request`
 * before routing (its `Gitlab::Middleware::HandleMalformedStrings`); Kasmap does the same. These
 * are the inputs the review reproduced; the fuzz test (`http-fuzz.e2e.test.ts`) covers the rest.
 */
const system = kasmapSystemForFile();
let world: World;

beforeAll(async () => {
  world = await buildWorld(system);
});

function send(
  method: string,
  target: string,
  options: { body?: string; contentType?: string; host?: string | null } = {},
): Promise<RawResponse> {
  const headers: Array<[string, string]> = [];
  if (options.host !== null) headers.push(["host", options.host ?? "kasmap.test"]);
  headers.push(["private-token", system.adminToken]);
  if (options.body !== undefined) headers.push(["content-type", options.contentType ?? "application/json"]);
  return sendRaw(system.gatewayUrl, {
    method,
    target,
    headers,
    ...(options.body === undefined ? {} : { body: Buffer.from(options.body, "utf8") }),
  });
}

describe("NUL bytes and lone surrogates", () => {
  it("in a project or group path id answer 400, not 500", async () => {
    for (const target of [
      "/api/v4/projects/a%00b",
      "/api/v4/projects/%00",
      "/api/v4/projects/world%2F%00/cluster_agents",
      "/api/v4/groups/%00",
      "/api/v4/groups/world%00/cluster_agents",
    ]) {
      const response = await send("GET", target);
      expect(response.status, `${target}: ${response.body}`).toBe(400);
    }
  });

  it("in JSON bodies answer 400 and create nothing", async () => {
    const cases: Array<[string, string, string]> = [
      ["POST", "/api/v4/users", '{"username":"nul\\u0000user","name":"n"}'],
      ["POST", "/api/v4/users", '{"username":"surrogate\\ud800","name":"n"}'],
      ["POST", `/api/v4/users/${world.userIds.developer}/personal_access_tokens`, '{"name":"\\udc00"}'],
      ["POST", `/api/v4/projects/${world.project.id}/jobs`, '{"ref":"main\\u0000"}'],
      ["POST", `/api/v4/projects/${world.project.id}/jobs`, '{"environment":{"name":"\\ud800"}}'],
      ["PUT", `/api/v4/projects/${world.project.id}/transfer`, '{"namespace":"\\u0000"}'],
      ["POST", "/api/v4/groups", '{"name":"g","path":"g","description":"\\u0000"}'],
      ["POST", `/api/v4/groups/${world.group.id}/members`, '{"\\u0000":1,"user_id":1,"access_level":30}'],
      [
        "PUT",
        `/api/v4/groups/${world.group.id}/members/${world.userIds.guest}`,
        '{"access_level":"\\u0000"}',
      ],
    ];
    for (const [method, target, body] of cases) {
      const response = await send(method, target, { body });
      expect(response.status, `${method} ${target} ${body}: ${response.body}`).toBe(400);
    }
    const users = await system.api("GET", "/user");
    expect(users.status).toBe(200);
  });

  it("in a raw YAML configuration body answer 400", async () => {
    const response = await send(
      "PUT",
      `/api/v4/projects/${world.project.id}/cluster_agents/${world.agent.id}/configuration`,
      { body: "ci_access:\n  projects:\n    - id: world/app\u0000\n", contentType: "application/yaml" },
    );
    expect(response.status, response.body).toBe(400);
  });

  it("in the query string answer 400", async () => {
    const response = await send("GET", `/api/v4/projects/${world.project.id}/audit_events?event_type=%00`);
    expect(response.status, response.body).toBe(400);
  });
});

describe("Host header", () => {
  it("odd or missing Host values never break the pagination links of a list", async () => {
    const target = `/api/v4/projects/${world.project.id}/cluster_agents?per_page=1`;
    for (const host of ["", "[::1", "a b", "example.test:99999999999", "%00", "é", "x".repeat(3000), null]) {
      const response = await send("GET", target, { host });
      expect(response.status, `Host ${JSON.stringify(host)}: ${response.body}`).toBeLessThan(500);
      if (host !== null) expect(response.status, `Host ${JSON.stringify(host)}`).toBe(200);
    }
  });
});

describe("numbers beyond 32 bits and long paths", () => {
  it("path ids beyond 32 (and 53) bits answer 404, not a database error", async () => {
    for (const big of ["2147483648", "99999999999", "9223372036854775808", "99999999999999999999999"]) {
      for (const target of [
        `/api/v4/projects/${big}`,
        `/api/v4/groups/${big}`,
        `/api/v4/projects/${world.project.id}/cluster_agents/${big}`,
        `/api/v4/projects/${world.project.id}/cluster_agents/${world.agent.id}/tokens/${big}`,
      ]) {
        const response = await send("GET", target);
        expect(response.status, `${target}: ${response.body}`).toBe(404);
      }
    }
  });

  it("body ids beyond 32 bits answer 4xx", async () => {
    for (const [method, target, body] of [
      ["POST", "/api/v4/projects", '{"name":"big","namespace_id":99999999999}'],
      ["POST", `/api/v4/groups/${world.group.id}/members`, '{"user_id":99999999999,"access_level":30}'],
      ["PUT", `/api/v4/groups/${world.group.id}/members/99999999999`, '{"access_level":30}'],
      ["POST", `/api/v4/projects/${world.project.id}/jobs`, '{"pipeline_id":99999999999}'],
      ["PUT", `/api/v4/projects/${world.project.id}/transfer`, '{"namespace":99999999999}'],
    ] as const) {
      const response = await send(method, target, { body });
      expect(response.status, `${method} ${target} ${body}: ${response.body}`).toBeLessThan(500);
    }
  });

  it("a 3,000-character path answers 4xx", async () => {
    for (const target of [
      `/api/v4/projects/${"a".repeat(3000)}`,
      `/api/v4/projects/${"a%2F".repeat(750)}/cluster_agents`,
      `/api/v4/${"x/".repeat(1500)}`,
    ]) {
      const response = await send("GET", target);
      expect(response.status, target.slice(0, 60)).toBeGreaterThanOrEqual(400);
      expect(response.status, target.slice(0, 60)).toBeLessThan(500);
    }
  });

  it("the CSV export carries a node count beyond 32 bits", async () => {
    await publishSnapshot(system, world.agent.id, facts({ node_count: 99_999_999_999 }));
    const target = `/api/v4/groups/${world.group.id}/cluster_agents?format=csv`;
    const csv = await eventually(async () => {
      const response = await send("GET", target);
      expect(response.status, response.body).toBeLessThan(500);
      return response.body.includes("prod-ctx") ? response : undefined;
    }, "snapshot in the export");
    expect(csv.status).toBe(200);
    expect(csv.body).toContain(",99999999999,");
  });
});
