import { AUDIT_EVENT_TYPES } from "@kasmap/contracts";
import { migrateReadModel } from "@kasmap/db";
import { createLogger } from "@kasmap/logging";
import { outboxStatusOf } from "@kasmap/runtime/outbox";
import { buildClusterFacts } from "@kasmap/testing";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { type AuditEventDraft, auditEventsFor, NO_PREVIOUS_STATE } from "../audit/audit-events.ts";
import { projectionContextForFile } from "../testing/projection-context.ts";
import { ALERT_OUTBOX, alertOutboxRetentionMs, createAlertPublisher, queueAlerts } from "./alert-outbox.ts";

/**
 * The alert outbox deletes a published alert only once no stream holds the event that raised it
 * any more: until then a rebuild (which keeps the table) or a change of partitions applies that
 * event again, and the row's unique `event_id` is what stops it raising the alert twice.
 */
const ctx = projectionContextForFile("alert-outbox-pruning");
const DAY_MS = 24 * 60 * 60 * 1_000;
const logger = createLogger("projection", "silent");

beforeAll(async () => {
  await migrateReadModel(ctx.db);
});

/** The cluster_changed audit event of agent `agentId` moving to another cluster. */
function clusterChangedDraft(agentId: number): AuditEventDraft {
  const previous = {
    ...NO_PREVIOUS_STATE,
    agent: { name: `agent-${agentId}`, projectId: 3 },
    entity: { id: 3, path: "group-2/project-3" },
    snapshot: buildClusterFacts({ cluster_uid: "uid-1", cluster_name: "prod" }),
  };
  const moved = ctx.events.snapshot(
    agentId,
    buildClusterFacts({ cluster_uid: `uid-${agentId}`, cluster_name: "laptop" }),
  );
  const draft = auditEventsFor(moved, previous).find(
    (d) => d.event_type === AUDIT_EVENT_TYPES.clusterChanged,
  );
  if (!draft) throw new Error("no cluster_changed draft");
  return draft;
}

async function publishedAgo(agentId: number, ageMs: number): Promise<void> {
  await sql`update read_model.alert_outbox
    set published_at = now() - make_interval(secs => ${ageMs / 1_000}::float8)
    where agent_id = ${agentId}`.execute(ctx.db);
}

async function alertsStored(): Promise<number> {
  return (await ctx.bus.jsm.streams.info(ctx.topology.streamNames.alerts)).state.messages;
}

async function agentsInOutbox(): Promise<number[]> {
  const rows = await ctx.db
    .selectFrom("read_model.alert_outbox")
    .select("agent_id")
    .orderBy("agent_id")
    .execute();
  return rows.map((r) => Number(r.agent_id));
}

describe("pruning the alert outbox", () => {
  it("keeps a published alert while its event can be replayed, so replaying it raises no second alert", async () => {
    const publisher = createAlertPublisher(ctx.db, ctx.bus, logger);
    const [kept, expired] = [clusterChangedDraft(21), clusterChangedDraft(22)];
    await queueAlerts(ctx.db, ctx.topology, [kept, expired]);
    await publisher.flush();
    expect(await alertsStored()).toBe(2);
    const horizonMs = alertOutboxRetentionMs(ctx.topology);
    // Far older than an hour and the duplicate window, younger than the streams' max age.
    await publishedAgo(21, 30 * DAY_MS);
    await publishedAgo(22, horizonMs + DAY_MS);

    expect(await publisher.prunePublished()).toBe(1);
    expect(await agentsInOutbox()).toEqual([21]);

    // A rebuild replays the snapshot that raised the kept alert: nothing is queued nor published.
    await queueAlerts(ctx.db, ctx.topology, [kept]);
    expect(await outboxStatusOf(ctx.db, ALERT_OUTBOX)).toEqual({
      pending: 0,
      oldest_pending_age_seconds: null,
      set_aside: 0,
    });
    await publisher.flush();
    expect(await alertsStored()).toBe(2);
  });

  it("keeps pending and set-aside alerts, which the gateway's readiness check counts, however old", async () => {
    const publisher = createAlertPublisher(ctx.db, ctx.bus, logger);
    await queueAlerts(ctx.db, ctx.topology, [clusterChangedDraft(31), clusterChangedDraft(32)]);
    const old = `now() - interval '1000 days'`;
    await sql`update read_model.alert_outbox set created_at = ${sql.raw(old)} where agent_id in (31, 32)`.execute(
      ctx.db,
    );
    await sql`update read_model.alert_outbox set set_aside_at = ${sql.raw(old)}, set_aside_reason = 'too large'
      where agent_id = 32`.execute(ctx.db);
    const before = await outboxStatusOf(ctx.db, ALERT_OUTBOX);
    expect(before).toMatchObject({ pending: 1, set_aside: 1 });

    await publisher.prunePublished();

    expect(await agentsInOutbox()).toEqual(expect.arrayContaining([31, 32]));
    expect(await outboxStatusOf(ctx.db, ALERT_OUTBOX)).toMatchObject({ pending: 1, set_aside: 1 });
  });
});
