import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type GatewayFixture,
  insertAgent,
  OTHER_PROJECT,
  PROJECT,
  startGatewayFixture,
  TOKENS,
} from "../testing/gateway-fixture.ts";

/**
 * Issue 7.2: an `environments` wildcard is matched without a backtracking regex. Any member who
 * may write an agent config chooses the pattern and any Developer chooses the environment of
 * the explain call, so a pattern like `*a*a*a*a*a*a*a*a!` must not freeze the gateway.
 */
const HOSTILE_AGENT = 901;
const REVIEW_AGENT = 902;
const HOSTILE_PATTERN = `${"*a".repeat(8)}!`;
let f: GatewayFixture;

beforeAll(async () => {
  f = await startGatewayFixture();
  await insertAgent(f.db, HOSTILE_AGENT, "hostile", OTHER_PROJECT);
  await insertAgent(f.db, REVIEW_AGENT, "review", OTHER_PROJECT);
  const row = (agentId: number, environments: string[]) => ({
    agent_id: agentId,
    project_id: PROJECT,
    config: JSON.stringify({ environments }),
  });
  await f.db
    .insertInto("read_model.ci_access_project_authorizations")
    .values([row(HOSTILE_AGENT, [HOSTILE_PATTERN]), row(REVIEW_AGENT, ["*/*-eu", "review/*"])])
    .execute();
});

afterAll(async () => {
  await f?.close();
});

const explain = (environment: string, agentId = HOSTILE_AGENT) =>
  `/api/v4/projects/${PROJECT}/cluster_agents/${agentId}/authorization/explain?ref_protected=true&environment=${encodeURIComponent(environment)}`;

describe("environment wildcards on the explain route", () => {
  it("answers a catastrophic-backtracking pattern", async () => {
    // A backtracking regex needs ~9 s for 48 characters on a 2-vCPU machine and grows as n^8:
    // at 96 it would run for hours, far past this test's timeout, while a linear matcher
    // answers in microseconds. No clock is read here: the timeout is the bound.
    const response = await f.call(explain("a".repeat(96)), { token: TOKENS.developer });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ allowed: false });
  });

  it("keeps matching the wildcard entries that do fit", async () => {
    const response = await f.call(explain("review/feature-1", REVIEW_AGENT), { token: TOKENS.developer });
    expect(await response.json()).toMatchObject({ allowed: true });
  });

  it("refuses an environment name longer than GitLab's 255 characters with a 400", async () => {
    const response = await f.call(explain("a".repeat(256), REVIEW_AGENT), { token: TOKENS.developer });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: "environment is too long (maximum is 255 characters)",
    });
  });
});
