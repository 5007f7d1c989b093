import { AUDIT_EVENT_TYPES, createTopology } from "@kasmap/contracts";
import { buildClusterFacts, testEvents } from "@kasmap/testing";
import { describe, expect, it } from "vitest";
import { type AuditPreviousState, auditEventsFor, NO_PREVIOUS_STATE } from "./audit-events.ts";

/** Issue 11: an agent's token used in another cluster is recorded, with before and after. */
const events = testEvents(createTopology("audit_cluster_changed"));
const FIRST_UID = "7e3c1a2b-0000-4000-8000-000000000001";
const SECOND_UID = "9f4d2b3c-0000-4000-8000-000000000002";
const inFirst = buildClusterFacts({ cluster_uid: FIRST_UID, cluster_name: "prod" });
const previousIn = (snapshot: ReturnType<typeof buildClusterFacts> | null): AuditPreviousState => ({
  ...NO_PREVIOUS_STATE,
  agent: { name: "agent-5", projectId: 3 },
  entity: { id: 3, path: "group-2/project-3" },
  snapshot,
});
const changedTypes = (facts: ReturnType<typeof buildClusterFacts>, previous: AuditPreviousState) =>
  auditEventsFor(events.snapshot(5, facts), previous).filter(
    (d) => d.event_type === AUDIT_EVENT_TYPES.clusterChanged,
  );

describe("cluster_agent_cluster_changed", () => {
  it("records a new cluster_uid with before/after uid, name and endpoint", () => {
    const moved = buildClusterFacts({
      cluster_uid: SECOND_UID,
      cluster_name: "laptop",
      api_endpoint: "https://127.0.0.1:6443",
    });
    const event = events.snapshot(5, moved);
    const drafts = auditEventsFor(event, previousIn(inFirst));
    const changed = drafts.find((d) => d.event_type === AUDIT_EVENT_TYPES.clusterChanged);
    expect(changed).toMatchObject({
      event_id: `${event.id}:cluster_changed`,
      target_id: 5,
      target_type: "Clusters::Agent",
      entity_id: 3,
      details: {
        before: { cluster_uid: FIRST_UID, cluster_name: "prod", api_endpoint: inFirst.api_endpoint },
        after: { cluster_uid: SECOND_UID, cluster_name: "laptop", api_endpoint: "https://127.0.0.1:6443" },
      },
    });
    // The ordinary change record stays, under its own id.
    expect(drafts.map((d) => d.event_type)).toContain(AUDIT_EVENT_TYPES.clusterInfoChanged);
  });

  it.each([
    { name: "the same uid again", facts: inFirst, previous: previousIn(inFirst) },
    { name: "the first snapshot", facts: inFirst, previous: previousIn(null) },
    {
      name: "a snapshot without the uid (RBAC, older collector)",
      facts: buildClusterFacts({ cluster_uid: null }),
      previous: previousIn(inFirst),
    },
    {
      name: "the first uid after snapshots without one",
      facts: inFirst,
      previous: previousIn(buildClusterFacts()),
    },
  ])("records nothing for $name", ({ facts, previous }) => {
    expect(changedTypes(facts, previous)).toEqual([]);
  });
});
