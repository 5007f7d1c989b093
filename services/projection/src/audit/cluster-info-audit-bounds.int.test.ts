import { publishEvent } from "@kasmap/bus";
import { deriveClusterFacts } from "@kasmap/cluster-info";
import { buildDualStackNodes, largeDualStackObservation } from "@kasmap/cluster-info/testing";
import { AUDIT_EVENT_TYPES, type ClusterFacts, ClusterInfoChangedDetailsSchema } from "@kasmap/contracts";
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { type ProjectionService, startProjectionService } from "../projection-service.ts";
import { rebuildReadModel } from "../rebuild/rebuild-read-model.ts";
import { projectionContextForFile } from "../testing/projection-context.ts";

/**
 * Security review: each `cluster_agent_cluster_info_changed` row of a 5,000-node dual-stack
 * cluster held its 10,000 node addresses before and after (~300 KB a row). The stored row, as
 * PostgreSQL holds it, is now bounded, and the snapshot history keeps the full lists.
 */
const ctx = projectionContextForFile("projection-cluster-info-audit-bounds");
let service: ProjectionService | undefined;
const AGENT = 7;
/** The bound of a stored autoscaling step of this cluster: `details` as JSON text, bytes. */
const ROW_BYTES = 32 * 1024;

afterAll(async () => {
  await service?.stop();
});

/** The cluster's audit rows, oldest first, with the size of their details as JSON text. */
async function infoChangedRows() {
  const rows = await ctx.db
    .selectFrom("read_model.audit_events")
    .select(["event_id", "details", sql<number>`octet_length(details::text)`.as("details_bytes")])
    .where("agent_id", "=", AGENT)
    .where("event_type", "=", AUDIT_EVENT_TYPES.clusterInfoChanged)
    .orderBy("stream_seq")
    .execute();
  return rows.map((row) => ({ ...row, details_bytes: Number(row.details_bytes) }));
}

describe("cluster_agent_cluster_info_changed rows of a large cluster", () => {
  const before = deriveClusterFacts(largeDualStackObservation(4_999), new Date("2026-03-01T10:00:00Z"));
  const afterNodes = buildDualStackNodes(5_002).filter((_, i) => i !== 10 && i !== 4000);
  const after: ClusterFacts = deriveClusterFacts(
    { ...largeDualStackObservation(1), nodes: { state: "ok", value: afterNodes } },
    new Date("2026-03-01T10:05:00Z"),
  );

  it("stores each row bounded, with the change named, while the history keeps the full lists", async () => {
    service = await startProjectionService(ctx.serviceOptions);
    const e = ctx.events;
    await publishEvent(ctx.bus, e.group(1));
    await publishEvent(ctx.bus, e.project(10, 1));
    await publishEvent(ctx.bus, e.agent(AGENT, 10));
    await publishEvent(ctx.bus, e.agentToken(70, AGENT));
    await publishEvent(ctx.bus, e.snapshot(AGENT, before));
    await publishEvent(ctx.bus, e.snapshot(AGENT, after));
    await ctx.caughtUp();

    const rows = await infoChangedRows();
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row.details_bytes).toBeLessThan(ROW_BYTES);
    const step = ClusterInfoChangedDetailsSchema.parse(rows[1]?.details);
    expect(step.changed_fields).toEqual(["node_ips", "pod_cidrs"]);
    expect(step.cut_lists?.["node_ips.internal"]).toMatchObject({
      before_count: 9_998,
      after_count: 10_000,
      added_count: 6,
      removed_count: 4,
    });
    expect(step.cut_lists?.["node_ips.internal"]?.removed).toEqual(
      expect.arrayContaining(["10.0.10.10", "10.15.160.10", "fd00:10:0:a::10", "fd00:10:0:fa0::10"]),
    );

    const history = await ctx.db
      .selectFrom("read_model.cluster_snapshot_history")
      .select("cluster")
      .where("agent_id", "=", AGENT)
      .where("content_hash", "=", step.content_hash)
      .executeTakeFirstOrThrow();
    expect((history.cluster as ClusterFacts).node_ips.internal).toEqual(after.node_ips.internal);
  });

  it("rebuilds the same rows from the streams", async () => {
    const stored = await infoChangedRows();
    await service?.stop();
    service = await rebuildReadModel(ctx.serviceOptions);
    await ctx.caughtUp();
    expect(await infoChangedRows()).toEqual(stored);
  });
});
