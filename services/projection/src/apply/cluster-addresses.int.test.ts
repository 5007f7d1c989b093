import { publishEvent } from "@kasmap/bus";
import { buildClusterFacts } from "@kasmap/testing";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { projectionContextForFile } from "../testing/projection-context.ts";
import { addressRowsFor, indexUnindexedSnapshots } from "./cluster-addresses.ts";

const ctx = projectionContextForFile("cluster-addresses-int-test", { running: true });

/** Agents whose addresses contain `ip`, through the GiST index's operator (`>>=`). */
async function agentsContaining(ip: string): Promise<Array<{ agent_id: number; field: string }>> {
  const result = await sql<{ agent_id: number; field: string }>`
    select agent_id, field from read_model.cluster_addresses
    where address >>= ${ip}::inet order by agent_id, field
  `.execute(ctx.db);
  return result.rows.map((r) => ({ agent_id: Number(r.agent_id), field: r.field }));
}

describe("cluster addresses", () => {
  it("follow the latest snapshot, in the snapshot's transaction, and leave with the agent", async () => {
    const e = ctx.events;
    const agents = [e.agent(7, 11), e.agentToken(70, 7), e.agent(8, 11), e.agentToken(80, 8)];
    for (const event of [e.group(1), e.project(11, 1), ...agents]) {
      await publishEvent(ctx.bus, event);
    }
    await publishEvent(
      ctx.bus,
      e.snapshot(7, buildClusterFacts({ node_ips: { internal: ["10.0.1.1"], external: [] } })),
    );
    await publishEvent(
      ctx.bus,
      e.snapshot(
        8,
        buildClusterFacts({
          node_ips: { internal: ["10.9.9.9"], external: [] },
          pod_cidrs: ["10.250.0.0/16"],
        }),
      ),
    );
    await ctx.caughtUp();
    expect(await agentsContaining("10.0.1.1")).toEqual([{ agent_id: 7, field: "node_ips.internal" }]);
    expect(await agentsContaining("10.250.3.4")).toEqual([{ agent_id: 8, field: "pod_cidrs" }]);

    await publishEvent(
      ctx.bus,
      e.snapshot(7, buildClusterFacts({ node_ips: { internal: ["10.0.2.2"], external: [] } })),
    );
    await ctx.caughtUp();
    expect(await agentsContaining("10.0.1.1")).toEqual([]);
    expect(await agentsContaining("10.0.2.2")).toEqual([{ agent_id: 7, field: "node_ips.internal" }]);

    await publishEvent(ctx.bus, e.agent(8, 11, "2026-01-02T00:00:00.000Z"));
    await ctx.caughtUp();
    expect(await agentsContaining("10.250.3.4")).toEqual([]);
    // The snapshot itself stays, as history.
    const kept = await ctx.db.selectFrom("read_model.cluster_snapshots").select("agent_id").execute();
    expect(kept.map((r) => Number(r.agent_id)).sort()).toEqual([7, 8]);
  });
  it("are exactly the latest snapshot's rows after changes applied one by one or in one batch", async () => {
    const e = ctx.events;
    const rowsOf7 = async () => {
      const rows = await ctx.db
        .selectFrom("read_model.cluster_addresses")
        .select(["field", sql<string>`address::text`.as("address")])
        .where("agent_id", "=", 7)
        .execute();
      return new Set(rows.map((r) => `${r.field} ${r.address}`));
    };
    const expected = (facts: ReturnType<typeof buildClusterFacts>) =>
      new Set(addressRowsFor(7, facts).map((r) => `${r.field} ${r.address}`));
    const internal = Array.from({ length: 300 }, (_, i) => `10.7.${i >> 8}.${i & 255}`);
    const facts = (nodes: string[], podCidrs: string[]) =>
      buildClusterFacts({
        node_ips: { internal: nodes, external: ["fd00::7", "FD00::7"] },
        pod_cidrs: podCidrs,
      });
    const big = facts(internal, ["10.250.0.0/16"]);
    await publishEvent(ctx.bus, e.snapshot(7, big));
    await ctx.caughtUp();
    expect(await rowsOf7()).toEqual(expected(big));
    // One node replaced, a range respelled (same network), then back: each snapshot its own.
    const oneChanged = facts(internal.with(5, "10.7.9.9"), ["10.250.1.2/16"]);
    await publishEvent(ctx.bus, e.snapshot(7, oneChanged));
    await ctx.caughtUp();
    expect(await rowsOf7()).toEqual(expected(oneChanged));
    expect(await agentsContaining("10.7.0.5")).toEqual([]);
    // Three snapshots published together: the batch applies them in order, the last wins.
    const last = buildClusterFacts({ node_ips: { internal: ["10.0.2.2"], external: [] } });
    for (const each of [big, oneChanged, last]) await publishEvent(ctx.bus, e.snapshot(7, each));
    await ctx.caughtUp();
    expect(await rowsOf7()).toEqual(expected(last));
  });

  it("are indexed for snapshots that have none (an existing read model after migration 011)", async () => {
    // Called directly rather than through a service restart, to test the function alone;
    // startProjectionService runs the same function before its consumers.
    await ctx.stopService();
    await ctx.db.deleteFrom("read_model.cluster_addresses").execute();
    expect(await indexUnindexedSnapshots(ctx.db)).toBe(1);
    expect(await agentsContaining("10.0.2.2")).toEqual([{ agent_id: 7, field: "node_ips.internal" }]);
    // Agent 8 was deleted: its snapshot stays as history but is not indexed again.
    expect(await agentsContaining("10.250.3.4")).toEqual([]);
    expect(await indexUnindexedSnapshots(ctx.db)).toBe(0);
  });
});
