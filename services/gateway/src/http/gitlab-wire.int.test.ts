import { createLogger } from "@kasmap/logging";
import type { GatewayRequest } from "@kasmap/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningGateway, startGateway } from "../index.ts";
import { gatewayFixtureForFile, insertAgent, PROJECT, TOKENS } from "../testing/gateway-fixture.ts";
import { externalUrlSettings } from "./request-url.ts";

/**
 * Issue 10: the wire as GitLab clients read it — `Content-Type: application/json` with no
 * parameters, an empty JSON body is no body, credentials in the query string as GitLab's
 * `AuthFinders` read them, GitLab's pagination clamping, and `Link` URLs built from the address
 * clients reach Kasmap at.
 */
const f = gatewayFixtureForFile();
const AGENTS = `/api/v4/projects/${PROJECT}/cluster_agents`;

beforeAll(async () => {
  for (let id = 1; id <= 3; id += 1) await insertAgent(f.db, id, `agent-${id}`);
});

/** The status and JSON body of a call, to compare in one assertion. */
async function answerOf(path: string, request: GatewayRequest): Promise<{ status: number; body: unknown }> {
  const response = await f.call(path, request);
  return { status: response.status, body: await response.json() };
}

describe("Content-Type", () => {
  it.each([
    ["a list", AGENTS, TOKENS.developer, 200],
    ["an unknown agent", `${AGENTS}/999`, TOKENS.developer, 404],
    ["no credential", AGENTS, null, 401],
    ["an expired token", AGENTS, TOKENS.expired, 401],
    ["an unknown route", "/api/v4/nowhere", TOKENS.developer, 404],
  ])("is exactly application/json on %s", async (_case, path, token, status) => {
    const response = await f.call(path, { token });
    expect(response.status).toBe(status);
    expect(response.headers.get("content-type")).toBe("application/json");
  });
});

describe("an empty body sent as application/json", () => {
  const emptyJson = { headers: { "content-type": "application/json" }, body: "" };

  it("is no body on a DELETE (a Developer gets GitLab's 403, not a 400)", async () => {
    const deleted = await answerOf(`${AGENTS}/1`, {
      token: TOKENS.developer,
      method: "DELETE",
      ...emptyJson,
    });
    expect(deleted).toEqual({ status: 403, body: { message: "403 Forbidden" } });
  });

  it("is no body on a POST whose parameters are in the query", async () => {
    const post = (path: string) => answerOf(path, { token: TOKENS.admin, method: "POST", ...emptyJson });
    // A name too long to record, so the gateway answers without asking authz: the answer
    // names the parameter read from the query, not the empty body.
    expect(await post(`${AGENTS}?name=${"a".repeat(1025)}`)).toEqual({
      status: 400,
      body: { message: '400 Bad request - ["Name is too long (maximum is 63 characters)"]' },
    });
    expect(await post(AGENTS)).toEqual({ status: 400, body: { error: "name is missing" } });
  });

  it("still refuses malformed JSON with 400", async () => {
    const response = await f.call(`${AGENTS}?name=x`, {
      token: TOKENS.developer,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{",
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toBe("application/json");
  });
});

describe("credentials in the query string", () => {
  it("takes private_token as PRIVATE-TOKEN", async () => {
    const response = await f.call(`/api/v4/user?private_token=${TOKENS.developer}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ username: "developer" });
  });

  it("prefers private_token over the PRIVATE-TOKEN header, as GitLab", async () => {
    const response = await f.call(`/api/v4/user?private_token=${TOKENS.reporter}`, {
      token: TOKENS.developer,
    });
    expect(await response.json()).toMatchObject({ username: "reporter" });
  });

  it("answers an expired private_token with GitLab's invalid_token body and WWW-Authenticate", async () => {
    const response = await f.call(`/api/v4/user?private_token=${TOKENS.expired}`);
    expect(response.status).toBe(401);
    const description = "Token is expired. You can either do re-authorization or token refresh.";
    expect(await response.json()).toEqual({ error: "invalid_token", error_description: description });
    expect(response.headers.get("www-authenticate")).toBe(
      `Bearer realm="Protected by OAuth 2.0", error="invalid_token", error_description="${description}"`,
    );
  });

  it("takes job_token where GitLab allows job tokens", async () => {
    const response = await f.call(`/api/v4/job/allowed_agents?job_token=${TOKENS.job}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ job: { id: 1 } });
  });

  it("ignores job_token where GitLab does not allow job tokens", async () => {
    const response = await f.call(`/api/v4/user?job_token=${TOKENS.job}`);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ message: "401 Unauthorized" });
  });

  it("keeps the credential out of the Link header", async () => {
    const response = await f.call(`${AGENTS}?per_page=1&private_token=${TOKENS.developer}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("link")).not.toContain("private_token");
    expect(response.headers.get("link")).not.toContain(TOKENS.developer);
  });
});

describe("pagination as GitLab reads it", () => {
  const page = async (query: string) => {
    const response = await f.call(`${AGENTS}?${query}`, { token: TOKENS.developer });
    return { status: response.status, headers: response.headers, body: await response.json() };
  };

  it("clamps per_page above 100 to 100", async () => {
    const answer = await page("per_page=1000");
    expect(answer.status).toBe(200);
    expect(answer.headers.get("x-per-page")).toBe("100");
    expect(answer.body).toHaveLength(3);
  });

  it.each(["0", "-3"])("reads page=%s as page 1", async (value) => {
    const answer = await page(`page=${value}&per_page=2`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get("x-page")).toBe("1");
    expect((answer.body as Array<{ name: string }>).map((agent) => agent.name)).toEqual([
      "agent-1",
      "agent-2",
    ]);
  });

  it("refuses a page that is not an integer with Grape's 400", async () => {
    const answer = await page("page=abc");
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: "page is invalid" });
  });
});

describe("Link URLs", () => {
  let behindProxy: RunningGateway;
  let withExternalUrl: RunningGateway;
  beforeAll(async () => {
    const start = (externalUrl: string | undefined, trusted: string | undefined) =>
      startGateway({
        bus: f.bus,
        databaseUrl: f.database.url,
        logger: createLogger("gateway-wire", "silent"),
        externalUrl: externalUrlSettings(externalUrl, trusted),
      });
    behindProxy = await start(undefined, "127.0.0.1/32, ::1");
    withExternalUrl = await start("https://kasmap.example.com/prefix", undefined);
  });
  afterAll(async () => {
    await behindProxy?.stop();
    await withExternalUrl?.stop();
  });

  const linkOf = async (base: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${base}${AGENTS}?per_page=1`, {
      headers: { "private-token": TOKENS.developer, ...headers },
    });
    expect(response.status).toBe(200);
    return response.headers.get("link") ?? "";
  };

  it("follows the request's Host by default, and ignores X-Forwarded-* from an untrusted peer", async () => {
    const link = await linkOf(f.gateway.url, { "x-forwarded-host": "evil.example.com" });
    expect(link).toContain(`<${f.gateway.url}${AGENTS}?per_page=1&page=2>; rel="next"`);
  });

  it("follows X-Forwarded-Proto/Host/Port from a trusted proxy", async () => {
    const link = await linkOf(behindProxy.url, {
      "x-forwarded-proto": "https",
      "x-forwarded-host": "gitlab-api.example.com",
      "x-forwarded-port": "8443",
    });
    expect(link).toContain(`<https://gitlab-api.example.com:8443${AGENTS}?per_page=1&page=2>; rel="next"`);
  });

  it("uses KASMAP_EXTERNAL_URL with its path prefix when set", async () => {
    const link = await linkOf(withExternalUrl.url, { "x-forwarded-host": "evil.example.com" });
    expect(link).toContain(`<https://kasmap.example.com/prefix${AGENTS}?per_page=1&page=2>; rel="next"`);
  });
});

describe("error bodies of the agent routes, as GitLab's code produces them", () => {
  const answer = (path: string, method = "GET") => answerOf(path, { token: TOKENS.admin, method });

  it.each([
    ["GET", `${AGENTS}/999`],
    ["GET", `${AGENTS}/999/tokens`],
    ["DELETE", `${AGENTS}/999`],
    ["GET", `${AGENTS}/1/tokens/999`],
  ])("%s %s (unknown id) answers 404 Not found", async (method, path) => {
    expect(await answer(path, method)).toEqual({ status: 404, body: { message: "404 Not found" } });
  });

  it.each([
    ["GET", `${AGENTS}/abc`, "agent_id"],
    ["DELETE", `${AGENTS}/1.5`, "agent_id"],
    ["GET", `${AGENTS}/abc/tokens`, "agent_id"],
    ["GET", `${AGENTS}/1/tokens/x`, "token_id"],
    ["DELETE", `${AGENTS}/1/tokens/x`, "token_id"],
  ])("%s %s (not an integer) answers Grape's 400", async (method, path, name) => {
    expect(await answer(path, method)).toEqual({ status: 400, body: { error: `${name} is invalid` } });
  });

  it("answers a name too long to record with the model's full message (shorter ones are authz's)", async () => {
    expect(await answer(`${AGENTS}?name=${"a".repeat(1025)}`, "POST")).toEqual({
      status: 400,
      body: { message: '400 Bad request - ["Name is too long (maximum is 63 characters)"]' },
    });
  });

  it("answers a Developer's create 403 before reading the name, as GitLab", async () => {
    const created = await answerOf(`${AGENTS}?name=Not_Valid`, { token: TOKENS.developer, method: "POST" });
    expect(created).toEqual({ status: 403, body: { message: "403 Forbidden" } });
  });
});
