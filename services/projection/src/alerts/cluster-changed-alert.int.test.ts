import { publishEvent } from "@kasmap/bus";
import { AUDIT_EVENT_TYPES, EVENT_TYPES } from "@kasmap/contracts";
import { buildClusterFacts } from "@kasmap/testing";
import { eventually } from "@kasmap/testing/harness";
import { describe, expect, it } from "vitest";
import { projectMessage } from "../consume/projection-consumer.ts";
import { auditEventsOf, readAlertStream } from "../testing/collector-and-alert-events.ts";
import { projectionContextForFile } from "../testing/projection-context.ts";

/**
 * Issue 11: a `cluster_uid` change raises one alert on the alerts stream, with its severity and
 * the audit event's details, through the projection's outbox: an alert committed with its audit
 * event but not yet published (the projection crashed in between) is published when the
 * projection starts again, and one published but not marked so is not published twice.
 */
const ctx = projectionContextForFile("projection-cluster-changed-alert", { running: true });
const AGENT = 5;

const alertsOnStream = () => readAlertStream(ctx.bus, ctx.topology);

const clusterChangedAudits = () => auditEventsOf(ctx.db, AGENT, AUDIT_EVENT_TYPES.clusterChanged);

const snapshotIn = (uid: string, name: string) =>
  ctx.events.snapshot(AGENT, buildClusterFacts({ cluster_uid: uid, cluster_name: name }));

describe("the cluster_changed alert", () => {
  it("is published once, with severity critical and the audit event's details", async () => {
    const e = ctx.events;
    for (const event of [e.group(1), e.project(10, 1), e.agent(AGENT, 10), e.agentToken(50, AGENT)]) {
      await publishEvent(ctx.bus, event);
    }
    await publishEvent(ctx.bus, snapshotIn("uid-first", "first"));
    // The same cluster again (another content): no alert.
    await publishEvent(
      ctx.bus,
      ctx.events.snapshot(
        AGENT,
        buildClusterFacts({ cluster_uid: "uid-first", cluster_name: "first", node_count: 9 }),
      ),
    );
    await publishEvent(ctx.bus, snapshotIn("uid-second", "second"));
    await ctx.caughtUp();

    const [audit, ...more] = await clusterChangedAudits();
    expect(more).toEqual([]);
    const [alert, ...others] = await eventually(
      async () => ((await alertsOnStream()).length > 0 ? alertsOnStream() : undefined),
      "the alert on the alerts stream",
    );
    expect(others).toEqual([]);
    expect(alert?.event).toMatchObject({
      type: EVENT_TYPES.alertClusterChanged,
      subject: ctx.topology.subjects.alert(EVENT_TYPES.alertClusterChanged, AGENT),
      severity: "critical",
      data: {
        agent_id: AGENT,
        audit_event_id: audit?.event_id,
        entity_id: audit?.entity_id,
        entity_path: audit?.entity_path,
        details: audit?.details,
      },
    });
    expect(audit?.details).toMatchObject({ after: { cluster_uid: "uid-second", cluster_name: "second" } });
    expect(alert?.msgId).toBe(alert?.event.id);
  });

  it("is published by a restarted projection when it crashed between commit and publish", async () => {
    await ctx.stopService();
    const before = await alertsOnStream();
    // What the crashed process committed: the snapshot applied, its audit event and its alert
    // queued in one transaction (the consumer's own step), and nothing published.
    const snapshot = snapshotIn("uid-third", "third");
    const stored = await publishEvent(ctx.bus, snapshot);
    const meta = { ...stored, subject: snapshot.subject, deliveryCount: 1, storedAt: new Date(), bytes: 0 };
    await projectMessage(ctx.db, ctx.topology, "projection-cluster", snapshot, meta);
    expect(await clusterChangedAudits()).toHaveLength(2);
    expect(await alertsOnStream()).toEqual(before);

    await ctx.startService();
    const after = await eventually(
      async () => ((await alertsOnStream()).length > before.length ? alertsOnStream() : undefined),
      "the queued alert published after the restart",
    );
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.slice(before.length).map(({ event }) => event.data)).toMatchObject([
      { details: { before: { cluster_uid: "uid-second" }, after: { cluster_uid: "uid-third" } } },
    ]);
  });

  it("is not published twice when the projection crashed between publish and marking it sent", async () => {
    await ctx.stopService();
    const before = await alertsOnStream();
    await ctx.db.updateTable("read_model.alert_outbox").set({ published_at: null }).execute();
    await ctx.startService();
    await eventually(
      async () =>
        (
          await ctx.db
            .selectFrom("read_model.alert_outbox")
            .select("id")
            .where("published_at", "is", null)
            .execute()
        ).length === 0 || undefined,
      "the outbox marked published again",
    );
    expect(await alertsOnStream()).toEqual(before);
  });
});
