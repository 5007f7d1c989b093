import { AUDIT_EVENT_TYPES, CONNECTED_WITHIN_MS, createTopology, EVENT_TYPES } from "@kasmap/contracts";
import { testEvents } from "@kasmap/testing";
import { describe, expect, it } from "vitest";
import { expectCriticalAlertOf } from "../testing/alert-expectations.ts";
import {
  type AuditPreviousState,
  auditEventsFor,
  NO_PREVIOUS_STATE,
  type StoredCollector,
} from "./audit-events.ts";

/** Issue 11: two live collectors of one agent in different clusters are recorded once per conflict. */
const topology = createTopology("audit_cluster_conflict");
const events = testEvents(topology);
const T0 = Date.parse("2026-03-01T10:00:00.000Z");
const at = (ms: number) => new Date(T0 + ms).toISOString();

const heartbeat = (collectorId: string, uid: string | undefined, sentAt: string, stopping = false) => {
  const event = events.heartbeat(5, sentAt, collectorId);
  return {
    ...event,
    data: {
      ...event.data,
      pod_name: collectorId,
      ...(uid ? { cluster_uid: uid } : {}),
      ...(stopping ? { stopping: true } : {}),
    },
  };
};
const stored = (
  collectorId: string,
  uid: string | null,
  more: Partial<StoredCollector> = {},
): StoredCollector => ({
  collector_id: collectorId,
  pod_name: collectorId,
  cluster_uid: uid,
  connected_at: at(0),
  last_heartbeat_at: at(0),
  stopped_at: null,
  ...more,
});
const previousWith = (...collectors: StoredCollector[]): AuditPreviousState => ({
  ...NO_PREVIOUS_STATE,
  agent: { name: "agent-5", projectId: 3 },
  entity: { id: 3, path: "group-2/project-3" },
  lastHeartbeatAt: at(0),
  collectors,
});
const conflicts = (event: ReturnType<typeof heartbeat>, previous: AuditPreviousState) =>
  auditEventsFor(event, previous).filter((d) => d.event_type === AUDIT_EVENT_TYPES.clusterConflict);

describe("cluster_agent_cluster_conflict", () => {
  it("records a live collector in another cluster, with both collectors ordered by id", () => {
    const [draft, ...more] = conflicts(
      heartbeat("b", "uid-2", at(1_000)),
      previousWith(stored("a", "uid-1")),
    );
    expect(more).toEqual([]);
    expect(draft).toMatchObject({
      target_id: 5,
      target_type: "Clusters::Agent",
      entity_id: 3,
      author_id: null,
      details: {
        collectors: [
          { collector_id: "a", pod_name: "a", cluster_uid: "uid-1" },
          { collector_id: "b", pod_name: "b", cluster_uid: "uid-2" },
        ],
      },
    });
  });

  it("records nothing for later heartbeats of either collector while both stay connected", () => {
    const b = stored("b", "uid-2", { connected_at: at(1_000), last_heartbeat_at: at(1_000) });
    const fromA = conflicts(heartbeat("a", "uid-1", at(20_000)), previousWith(stored("a", "uid-1"), b));
    const fromB = conflicts(
      heartbeat("b", "uid-2", at(21_000)),
      previousWith(stored("a", "uid-1", { last_heartbeat_at: at(20_000) }), b),
    );
    expect([fromA, fromB]).toEqual([[], []]);
  });

  it("gives a collector back in the same window the window's event id, after a silence a new one", () => {
    const [first] = conflicts(heartbeat("b", "uid-2", at(1_000)), previousWith(stored("a", "uid-1")));
    const stoppedB = stored("b", "uid-2", {
      connected_at: at(1_000),
      last_heartbeat_at: at(2_000),
      stopped_at: at(2_000),
    });
    const [again] = conflicts(
      heartbeat("b", "uid-2", at(10_000)),
      previousWith(stored("a", "uid-1", { last_heartbeat_at: at(9_000) }), stoppedB),
    );
    const back = CONNECTED_WITHIN_MS + 3_000;
    const silentB = stored("b", "uid-2", { connected_at: at(1_000), last_heartbeat_at: at(2_000) });
    const [afterSilence] = conflicts(
      heartbeat("b", "uid-2", at(back)),
      previousWith(stored("a", "uid-1", { last_heartbeat_at: at(back - 1_000) }), silentB),
    );
    expect(first?.event_id).toBe("cluster_conflict:5:2026-03-01T10:00:00.000Z");
    expect(again?.event_id).toBe(first?.event_id);
    expect(afterSilence?.event_id).toBe("cluster_conflict:5:2026-03-01T10:03:00.000Z");
  });

  it("names a third and a fourth cluster joining within the window, each once, and no fifth", () => {
    const live = [stored("a", "uid-1"), stored("b", "uid-2", { last_heartbeat_at: at(1_000) })];
    const ids = (...more: StoredCollector[]) =>
      conflicts(
        heartbeat(`n${more.length}`, `uid-new-${more.length}`, at(10_000)),
        previousWith(...live, ...more),
      ).map((d) => d.event_id);
    const c = stored("c", "uid-3", { last_heartbeat_at: at(2_000) });
    const d = stored("d", "uid-4", { last_heartbeat_at: at(3_000) });
    const [third] = conflicts(heartbeat("c", "uid-3", at(2_000)), previousWith(...live));
    expect(third?.event_id).toBe("cluster_conflict:5:2026-03-01T10:00:00.000Z:3");
    expect(third?.details).toMatchObject({
      collectors: [
        { collector_id: "b", cluster_uid: "uid-2" },
        { collector_id: "c", cluster_uid: "uid-3" },
      ],
    });
    expect(ids(c)).toEqual(["cluster_conflict:5:2026-03-01T10:00:00.000Z:4"]);
    // A fifth cluster counts as the fourth: the window's unique id absorbs it.
    expect(ids(c, d)).toEqual(["cluster_conflict:5:2026-03-01T10:00:00.000Z:4"]);
    // A second replica in a known cluster counts that cluster once.
    expect(ids(stored("b2", "uid-2", { last_heartbeat_at: at(4_000) }))).toEqual([
      "cluster_conflict:5:2026-03-01T10:00:00.000Z:3",
    ]);
  });

  it.each([
    { name: "the same cluster", event: heartbeat("b", "uid-1", at(1_000)), other: stored("a", "uid-1") },
    {
      name: "a heartbeat without the uid",
      event: heartbeat("b", undefined, at(1_000)),
      other: stored("a", "uid-1"),
    },
    {
      name: "a collector whose uid is unknown",
      event: heartbeat("b", "uid-2", at(1_000)),
      other: stored("a", null),
    },
    {
      name: "a stopped collector",
      event: heartbeat("b", "uid-2", at(1_000)),
      other: stored("a", "uid-1", { stopped_at: at(0) }),
    },
    {
      name: "a silent collector",
      event: heartbeat("b", "uid-2", at(CONNECTED_WITHIN_MS + 1)),
      other: stored("a", "uid-1"),
    },
    {
      name: "a stopping heartbeat",
      event: heartbeat("b", "uid-2", at(1_000), true),
      other: stored("a", "uid-1"),
    },
  ])("records nothing for $name", ({ event, other }) => {
    expect(conflicts(event, previousWith(other))).toEqual([]);
  });

  it("records nothing for a heartbeat older than the collector's stored one (a replay)", () => {
    const b = stored("b", "uid-2", { last_heartbeat_at: at(5_000) });
    expect(conflicts(heartbeat("b", "uid-2", at(1_000)), previousWith(stored("a", "uid-1"), b))).toEqual([]);
  });

  it("raises the cluster_conflict alert, critical, with the audit event's details", () => {
    const [draft] = conflicts(heartbeat("b", "uid-2", at(1_000)), previousWith(stored("a", "uid-1")));
    if (!draft) throw new Error("no cluster_conflict draft");
    expectCriticalAlertOf(topology, draft, {
      type: EVENT_TYPES.alertClusterConflict,
      subject: "audit_cluster_conflict.alerts.5.cluster_conflict",
      agentId: 5,
      entityId: 3,
    });
  });
});
