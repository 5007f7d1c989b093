import { publishEvent } from "@kasmap/bus";
import { buildClusterFacts } from "@kasmap/testing";
import { afterAll, describe, expect, it } from "vitest";
import { projectMessage } from "../consume/projection-consumer.ts";
import { type ProjectionService, startProjectionService } from "../projection-service.ts";
import { rebuildReadModel } from "../rebuild/rebuild-read-model.ts";
import { projectionContextForFile } from "../testing/projection-context.ts";

const ctx = projectionContextForFile("projection-audit-int-test");
let service: ProjectionService | undefined;

afterAll(async () => {
  await service?.stop();
});

/** The audit log without its serial ids (a rebuild numbers rows anew), oldest first. */
async function auditLog(agentId: number) {
  const rows = await ctx.db
    .selectFrom("read_model.audit_events")
    .select([
      "event_id",
      "event_type",
      "entity_id",
      "entity_path",
      "target_id",
      "target_type",
      "details",
      "stream",
    ])
    .where("agent_id", "=", agentId)
    .orderBy("stream_seq")
    .orderBy("event_id")
    .execute();
  return rows.sort((a, b) => a.event_id.localeCompare(b.event_id));
}

describe("audit events written by the projection", () => {
  it("records agent, token, snapshot and authorization changes in the applying transaction", async () => {
    service = await startProjectionService(ctx.serviceOptions);
    const e = ctx.events;
    await publishEvent(ctx.bus, e.group(1));
    await publishEvent(ctx.bus, e.project(10, 1));
    await publishEvent(ctx.bus, e.agent(5, 10));
    await publishEvent(ctx.bus, e.agentToken(50, 5));
    await publishEvent(ctx.bus, e.snapshot(5, buildClusterFacts()));
    await publishEvent(ctx.bus, e.snapshot(5, buildClusterFacts({ api_endpoint_ip: "10.0.0.9" })));
    await publishEvent(
      ctx.bus,
      e.authz(5, 10, { ci_access: { projects: [], groups: [] }, user_access: { projects: [], groups: [] } }),
    );
    await ctx.caughtUp();

    const types = (await auditLog(5)).map((r) => r.event_type).sort();
    expect(types).toEqual([
      "cluster_agent_authorization_changed",
      "cluster_agent_cluster_info_changed",
      "cluster_agent_cluster_info_changed",
      "cluster_agent_created",
      "cluster_agent_token_created",
    ]);
    const changes = (await auditLog(5)).filter((r) => r.event_type === "cluster_agent_cluster_info_changed");
    expect(changes.map((r) => (r.details as { changed_fields: string[] }).changed_fields)).toContainEqual([
      "api_endpoint_ip",
    ]);
    expect(
      (await auditLog(5)).every((r) => r.entity_id === 10 && r.entity_path === "group-1/project-10"),
    ).toBe(true);
  });

  it("adds nothing when an event is applied again, even past the position guard", async () => {
    const before = await auditLog(5);
    const event = ctx.events.agentToken(51, 5);
    const meta = {
      stream: ctx.topology.streamNames.registry,
      seq: 10_000,
      subject: event.subject,
      deliveryCount: 1,
      storedAt: new Date(),
      bytes: 0,
    };
    await projectMessage(ctx.db, ctx.topology, "audit-test", event, meta);
    await projectMessage(ctx.db, ctx.topology, "audit-test", event, { ...meta, deliveryCount: 2 });
    // A fresh consumer position (as after a partial rebuild) re-applies it: the event id absorbs it.
    await projectMessage(ctx.db, ctx.topology, "audit-test-2", event, meta);
    const after = await auditLog(5);
    expect(after.length).toBe(before.length + 1);
  });

  it("rebuilds the same audit log from the streams, even when snapshots replay before their agent", async () => {
    await service?.stop();
    await ctx.db
      .deleteFrom("read_model.audit_events")
      .where("stream", "=", ctx.topology.streamNames.registry)
      .where("stream_seq", "=", 10_000)
      .execute();
    const before = await auditLog(5);
    service = await rebuildReadModel(ctx.serviceOptions);
    await ctx.caughtUp();
    expect(await auditLog(5)).toEqual(before);
  });
});
