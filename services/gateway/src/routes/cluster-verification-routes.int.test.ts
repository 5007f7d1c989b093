import { buildClusterFacts } from "@kasmap/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { gatewayFixtureForFile, insertAgent, PROJECT, TOKENS } from "../testing/gateway-fixture.ts";

/**
 * Issue 7.10: the verify answer grows with what was reported plus what was expected, never with
 * their product, and the number of expected entries is capped (400 beyond the cap).
 */
const AGENT = 950;
const NODES = 1_000;
const RANGES = 1_000;
const f = gatewayFixtureForFile();

/** `10.<i / 250>.<i % 250>.1`: distinct addresses, one per node. */
const nodeIp = (i: number) => `10.${Math.floor(i / 250)}.${i % 250}.1`;

beforeAll(async () => {
  await insertAgent(f.db, AGENT, "big-cluster");
  const facts = buildClusterFacts({ cluster_name: "big" });
  facts.node_ips = { external: [], internal: Array.from({ length: NODES }, (_, i) => nodeIp(i)) };
  facts.node_count = NODES;
  await f.db
    .insertInto("read_model.cluster_snapshots")
    .values({
      agent_id: AGENT,
      content_hash: "1".repeat(64),
      cluster: JSON.stringify(facts),
      observed_at: facts.observed_at,
      stream_seq: 1,
    })
    .execute();
});

const verify = (body: unknown) =>
  f.call(`/api/v4/projects/${PROJECT}/cluster_agents/${AGENT}/cluster_info/verify`, {
    method: "POST",
    token: TOKENS.developer,
    json: body,
  });

describe("POST …/cluster_info/verify with many addresses and many ranges", () => {
  it("answers in size proportional to reported + expected, not their product", async () => {
    // Half the nodes fall in one of the /32 ranges, the other half in none.
    const ranges = Array.from(
      { length: RANGES },
      (_, i) => `${i % 2 === 0 ? nodeIp(i) : `192.168.${i % 250}.${Math.floor(i / 250)}`}/32`,
    );
    const response = await verify({ node_ips: ranges });
    expect(response.status).toBe(200);
    const text = await response.text();
    const body = JSON.parse(text) as { ok: boolean; checks: unknown[] };
    expect(body.ok).toBe(false);
    expect(body.checks).toHaveLength(NODES);
    // ~100 bytes per check and ~20 per range; each check repeating the 1,000 ranges took ~17 MB.
    expect(text.length).toBeLessThan(200 * (NODES + RANGES));
  });

  it("refuses more expected ranges than the documented cap with a 400 naming it", async () => {
    const ranges = Array.from({ length: 1_001 }, (_, i) => `172.16.${Math.floor(i / 250)}.${i % 250}/32`);
    const response = await verify({ node_ips: ranges });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: "node_ips has more than 1000 entries" });
  });
});
