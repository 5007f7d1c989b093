import { beforeAll, describe, expect, it } from "vitest";
import { gatewayFixtureForFile, insertAgent, PROJECT, TOKENS } from "../testing/gateway-fixture.ts";

/**
 * GitLab's answers on its agent routes where they depend on the order Grape runs things in
 * (parameters, then `user_project`, then the role, then the model) and on what a member below
 * Developer gets (lib/api/clusters/agents.rb, agent_tokens.rb; AgentsFinder; AgentToken).
 */
const f = gatewayFixtureForFile();
const agents = `/api/v4/projects/${PROJECT}/cluster_agents`;
const AGENT = 300;
const tokens = `${agents}/${AGENT}/tokens`;

beforeAll(async () => {
  await insertAgent(f.db, AGENT, "a-agent");
  await insertAgent(f.db, AGENT + 1, "b-agent");
  await insertAgent(f.db, AGENT + 2, "c-agent");
});

async function answer(path: string, token: string, init: { method?: string; body?: unknown } = {}) {
  const response = await f.call(path, { token, method: init.method ?? "GET", json: init.body });
  return { status: response.status, body: await response.json(), headers: response.headers };
}

describe("parameters are checked before the project and the role (Grape)", () => {
  it("answers a Developer's agent or token creation without name 400 name is missing, not 403", async () => {
    for (const path of [agents, tokens]) {
      expect(await answer(path, TOKENS.developer, { method: "POST", body: {} })).toMatchObject({
        status: 400,
        body: { error: "name is missing" },
      });
    }
    // With a name, the role decides: 403 as before.
    expect(await answer(tokens, TOKENS.developer, { method: "POST", body: { name: "t" } })).toMatchObject({
      status: 403,
      body: { message: "403 Forbidden" },
    });
  });

  it("answers a non-integer agent_id 400 even on a project that does not exist or is hidden", async () => {
    for (const project of [999_999, PROJECT]) {
      for (const token of [TOKENS.developer, TOKENS.outsider]) {
        expect(await answer(`/api/v4/projects/${project}/cluster_agents/abc`, token)).toMatchObject({
          status: 400,
          body: { error: "agent_id is invalid" },
        });
      }
    }
    expect(
      await answer(`/api/v4/projects/999999/cluster_agents/abc/tokens/1`, TOKENS.developer),
    ).toMatchObject({
      status: 400,
      body: { error: "agent_id is invalid" },
    });
  });

  it("names every bad parameter at once, in Grape's order", async () => {
    const path = `/api/v4/projects/999999/cluster_agents/abc/tokens`;
    expect(await answer(path, TOKENS.developer, { method: "POST", body: {} })).toMatchObject({
      status: 400,
      body: { error: "agent_id is invalid, name is missing" },
    });
    expect(await answer(`${agents}/abc/tokens/xyz`, TOKENS.developer)).toMatchObject({
      status: 400,
      body: { error: "agent_id is invalid, token_id is invalid" },
    });
  });

  it("still answers a caller without access to the project 404 for well-formed parameters", async () => {
    expect(await answer(`${agents}/${AGENT}`, TOKENS.outsider)).toMatchObject({
      status: 404,
      body: { message: "404 Project Not Found" },
    });
  });
});

describe("agent token model errors (bad_request!(full_messages))", () => {
  it.each([
    ["an empty name", { name: "" }, ["Name can't be blank"]],
    ["a blank name", { name: " \t " }, ["Name can't be blank"]],
    ["a null name", { name: null }, ["Name can't be blank"]],
    ["256 characters of name", { name: "n".repeat(256) }, ["Name is too long (maximum is 255 characters)"]],
    [
      "1,025 characters of description",
      { name: "n", description: "d".repeat(1025) },
      ["Description is too long (maximum is 1024 characters)"],
    ],
    [
      "both, description first (the model's order)",
      { name: "", description: "d".repeat(1025) },
      ["Description is too long (maximum is 1024 characters)", "Name can't be blank"],
    ],
  ])("answers %s with GitLab's messages", async (_what, body, messages) => {
    // Ruby's Array#inspect inside the message: `["A", "B"]`.
    const inspected = `[${messages.map((m) => JSON.stringify(m)).join(", ")}]`;
    expect(await answer(tokens, TOKENS.admin, { method: "POST", body })).toMatchObject({
      status: 400,
      body: { message: `400 Bad request - ${inspected}` },
    });
  });

  it("counts characters, not UTF-16 units, as Rails does", async () => {
    // 255 astral characters are 510 UTF-16 units: within the model's limit; 256 are not.
    const refused = await answer(tokens, TOKENS.admin, { method: "POST", body: { name: "😀".repeat(256) } });
    expect(refused).toMatchObject({
      status: 400,
      body: { message: '400 Bad request - ["Name is too long (maximum is 255 characters)"]' },
    });
  });

  it("checks the model after the role and the agent, as GitLab's service does", async () => {
    expect(await answer(tokens, TOKENS.developer, { method: "POST", body: { name: "" } })).toMatchObject({
      status: 403,
    });
    expect(
      await answer(`${agents}/999999/tokens`, TOKENS.admin, { method: "POST", body: { name: "" } }),
    ).toMatchObject({
      status: 404,
      body: { message: "404 Not found" },
    });
  });
});

describe("below Developer (GitLab: agents.rb, AgentsFinder)", () => {
  it("answers a reporter's agent list 404 ClusterAgents Not Found", async () => {
    expect(await answer(agents, TOKENS.reporter)).toMatchObject({
      status: 404,
      body: { message: "404 ClusterAgents Not Found" },
    });
  });

  it.each([
    `${agents}/${AGENT}`,
    `${agents}/999999`,
    tokens,
    `${tokens}/1`,
    `${agents}/${AGENT}/cluster_info`,
  ])("answers a reporter's %s 404 Not found, as for an agent that does not exist", async (path) => {
    expect(await answer(path, TOKENS.reporter)).toMatchObject({
      status: 404,
      body: { message: "404 Not found" },
    });
  });

  it("keeps 404 Project Not Found for a caller who cannot see the project", async () => {
    for (const path of [agents, `${agents}/${AGENT}`, tokens]) {
      expect(await answer(path, TOKENS.outsider)).toMatchObject({
        status: 404,
        body: { message: "404 Project Not Found" },
      });
    }
  });
});

describe("pagination (Grape's except_values, Kaminari's prev_page)", () => {
  it("answers per_page=0 400 per_page has a value not allowed, on every paginated route", async () => {
    for (const path of [agents, tokens, "/api/v4/groups"]) {
      expect(await answer(`${path}?per_page=0`, TOKENS.developer)).toMatchObject({
        status: 400,
        body: { error: "per_page has a value not allowed" },
      });
    }
  });

  it("reads a negative or empty per_page as 20", async () => {
    for (const query of ["per_page=-5", "per_page="]) {
      const { status, headers } = await answer(`${agents}?${query}`, TOKENS.developer);
      expect([status, headers.get("x-per-page")]).toEqual([200, "20"]);
    }
  });

  it("sends no previous page past the last page", async () => {
    const past = await answer(`${agents}?per_page=1&page=9`, TOKENS.developer);
    expect(past.body).toEqual([]);
    expect([
      past.headers.get("x-prev-page"),
      past.headers.get("x-next-page"),
      past.headers.get("x-total-pages"),
    ]).toEqual(["", "", "3"]);
    expect(past.headers.get("link")).not.toContain('rel="prev"');
    const last = await answer(`${agents}?per_page=1&page=3`, TOKENS.developer);
    expect(last.headers.get("x-prev-page")).toBe("2");
    expect(last.headers.get("link")).toContain('rel="prev"');
  });
});
