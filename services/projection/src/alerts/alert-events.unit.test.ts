import { AUDIT_EVENT_TYPES, createTopology, EVENT_TYPES } from "@kasmap/contracts";
import { buildClusterFacts, testEvents } from "@kasmap/testing";
import { describe, expect, it } from "vitest";
import { type AuditPreviousState, auditEventsFor, NO_PREVIOUS_STATE } from "../audit/audit-events.ts";
import { expectCriticalAlertOf } from "../testing/alert-expectations.ts";
import { alertOfAuditEvent } from "./alert-events.ts";

/** Issue 11: which audit events raise an alert, and what the alert carries. */
const topology = createTopology("alert_events");
const events = testEvents(topology);
const previous: AuditPreviousState = {
  ...NO_PREVIOUS_STATE,
  agent: { name: "agent-5", projectId: 3 },
  entity: { id: 3, path: "group-2/project-3" },
  snapshot: buildClusterFacts({ cluster_uid: "uid-1", cluster_name: "prod" }),
};
const moved = events.snapshot(5, buildClusterFacts({ cluster_uid: "uid-2", cluster_name: "laptop" }));
const drafts = auditEventsFor(moved, previous);

describe("alertOfAuditEvent", () => {
  it("raises cluster_changed, critical, on the agent's alert subject, with the audit event's details", () => {
    const draft = drafts.find((d) => d.event_type === AUDIT_EVENT_TYPES.clusterChanged);
    if (!draft) throw new Error("no cluster_changed draft");
    const alert = expectCriticalAlertOf(topology, draft, {
      type: EVENT_TYPES.alertClusterChanged,
      subject: "alert_events.alerts.5.cluster_changed",
      agentId: 5,
      entityId: 3,
    });
    expect(alert?.time).toBe(draft.created_at);
    // The same audit event always raises the same alert (the outbox and Nats-Msg-Id absorb repeats).
    expect(alertOfAuditEvent(topology, draft)?.id).toBe(alert?.id);
  });

  it("raises nothing for the other audit events", () => {
    const others = drafts.filter((d) => d.event_type !== AUDIT_EVENT_TYPES.clusterChanged);
    expect(others.length).toBeGreaterThan(0);
    expect(others.map((d) => alertOfAuditEvent(topology, d))).toEqual(others.map(() => null));
  });
});
