import { publishEvent } from "@kasmap/bus";
import { ALL_READ_MODEL_TABLES } from "@kasmap/db";
import { buildClusterFacts } from "@kasmap/testing";
import { AckPolicy } from "@nats-io/jetstream";
import { afterAll, describe, expect, it } from "vitest";
import { type ProjectionService, startProjectionService } from "../projection-service.ts";
import { projectionContextForFile } from "../testing/projection-context.ts";
import { rebuildReadModel } from "./rebuild-read-model.ts";

const ctx = projectionContextForFile("projection-rebuild-int-test");
let service: ProjectionService | undefined;

afterAll(async () => {
  await service?.stop();
});

/**
 * Every read-model table but the audit log, whose serial ids a rebuild numbers anew
 * (audit-events.int.test.ts compares it without them).
 */
const TABLES = ALL_READ_MODEL_TABLES.filter((t) => t !== "audit_events").map(
  (t) => `read_model.${t}` as const,
);

/** Every row of the projected tables, in a stable order, without the positions' wall-clock time. */
async function readModelRows(): Promise<Record<string, unknown[]>> {
  const rows: Record<string, unknown[]> = {};
  for (const table of TABLES) {
    const all = (await ctx.db.selectFrom(table).selectAll().execute()) as Record<string, unknown>[];
    // Positions carry the wall-clock time of their last write; everything else comes from events.
    const comparable = table === "read_model.projection_positions" ? all.map(withoutUpdatedAt) : all;
    rows[table] = comparable.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  }
  return rows;
}

function withoutUpdatedAt({ updated_at: _updatedAt, ...row }: Record<string, unknown>) {
  return row;
}

async function publishHistory(agentId: number): Promise<void> {
  const e = ctx.events;
  await publishEvent(ctx.bus, e.group(agentId));
  await publishEvent(ctx.bus, e.project(agentId * 10, agentId));
  await publishEvent(ctx.bus, e.agent(agentId, agentId * 10));
  await publishEvent(ctx.bus, e.agentToken(agentId, agentId));
  await publishEvent(
    ctx.bus,
    e.authz(agentId, agentId * 10, {
      ci_access: { projects: [{ project_id: agentId * 10, config: {} }], groups: [] },
      user_access: { projects: [], groups: [] },
    }),
  );
  await publishEvent(ctx.bus, e.snapshot(agentId, buildClusterFacts({ node_count: 1 })));
  await publishEvent(ctx.bus, e.snapshot(agentId, buildClusterFacts({ node_count: 2 })));
  await publishEvent(ctx.bus, e.heartbeat(agentId, new Date(Date.UTC(2026, 0, agentId)).toISOString()));
}

describe("projection restart, replay and rebuild", () => {
  it("continues after a stop where it left off, losing no event", async () => {
    service = await startProjectionService(ctx.serviceOptions);
    await publishHistory(1);
    await ctx.caughtUp();
    await service.stop();
    service = undefined;
    await publishHistory(2); // published while the projection is down
    service = await startProjectionService(ctx.serviceOptions);
    await ctx.caughtUp();
    const agents = await ctx.db.selectFrom("read_model.agents").select("id").orderBy("id").execute();
    expect(agents).toEqual([{ id: 1 }, { id: 2 }]);
    const history = await ctx.db
      .selectFrom("read_model.cluster_snapshot_history")
      .select("agent_id")
      .execute();
    expect(history).toHaveLength(4);
  });

  it("changes nothing when a consumer is reset and replays messages already applied", async () => {
    // A marker no event would write: if a replayed message were applied again, it would vanish.
    await ctx.db
      .updateTable("read_model.groups")
      .set({ description: "marker" })
      .where("id", "=", 1)
      .execute();
    await service?.stop();
    // The durable consumer an older version used, which had acknowledged nothing: a restart
    // deletes it and resumes from the stored position rather than replaying.
    await ctx.bus.jsm.consumers.add(ctx.topology.streamNames.registry, {
      durable_name: "projection-registry",
      ack_policy: AckPolicy.Explicit,
    });
    service = await startProjectionService(ctx.serviceOptions);
    await expect(
      ctx.bus.jsm.consumers.info(ctx.topology.streamNames.registry, "projection-registry"),
    ).rejects.toThrow();
    await publishEvent(ctx.bus, ctx.events.user(99)); // a barrier: applied only after the replay
    await ctx.caughtUp();
    const group = await ctx.db
      .selectFrom("read_model.groups")
      .select("description")
      .where("id", "=", 1)
      .executeTakeFirst();
    expect(group?.description).toBe("marker");
    await ctx.db.updateTable("read_model.groups").set({ description: null }).where("id", "=", 1).execute();
  });

  it("rebuilds identical rows by replaying every stream from the start", async () => {
    const before = await readModelRows();
    await service?.stop();
    service = undefined;
    service = await rebuildReadModel(ctx.serviceOptions);
    await ctx.caughtUp();
    expect(await readModelRows()).toEqual(before);
  });
});
