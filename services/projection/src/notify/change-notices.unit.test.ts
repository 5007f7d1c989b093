import { createTopology, ReadModelNoticeSchema } from "@kasmap/contracts";
import { buildClusterFacts, testEvents } from "@kasmap/testing";
import { describe, expect, it } from "vitest";
import { changeNoticesFor, dedupeChangeNotices } from "./change-notices.ts";

const events = testEvents(createTopology("unit"));
const position = { stream: "UNIT_REGISTRY", seq: 5 };
const grants = { ci_access: { projects: [], groups: [] }, user_access: { projects: [], groups: [] } };

describe("change notices", () => {
  it.each([
    ["group", events.group(1), [{ table: "groups", group_id: 1 }]],
    ["project", events.project(11, 1), [{ table: "projects", project_id: 11 }]],
    ["user", events.user(5), [{ table: "users", user_id: 5 }]],
    [
      "group membership",
      events.membership({ id: 1, user_id: 5, source_type: "group", source_id: 2, access_level: 10 }),
      [{ table: "memberships", user_id: 5, group_id: 2 }],
    ],
    [
      "personal access token",
      events.personalAccessToken(1, 5),
      [{ table: "personal_access_tokens", user_id: 5 }],
    ],
    ["agent", events.agent(7, 11), [{ table: "agents", agent_id: 7, project_id: 11 }]],
    ["agent token", events.agentToken(70, 7), [{ table: "agent_tokens", agent_id: 7 }]],
    ["job", events.job(1, 11), [{ table: "jobs", project_id: 11, user_id: 1 }]],
    ["heartbeat", events.heartbeat(7, "2026-01-01T00:00:00Z"), [{ table: "agent_connections", agent_id: 7 }]],
    [
      "snapshot",
      events.snapshot(7, buildClusterFacts()),
      [
        { table: "cluster_snapshots", agent_id: 7 },
        { table: "cluster_snapshot_history", agent_id: 7 },
      ],
    ],
  ])("names the changed table and ids of a %s event", (_kind, event, expected) => {
    const notices = changeNoticesFor(event, position);
    expect(notices).toEqual(expected.map((n) => ({ ...n, ...position })));
    for (const notice of notices) expect(ReadModelNoticeSchema.parse(notice)).toEqual(notice);
  });

  it("names every authorization table for an authorization change and a deleted agent", () => {
    const authz = changeNoticesFor(events.authz(7, 11, grants), position).map((n) => n.table);
    expect(authz).toEqual([
      "ci_access_project_authorizations",
      "ci_access_group_authorizations",
      "user_access_project_authorizations",
      "user_access_group_authorizations",
      "agent_authorization_reports",
    ]);
    const deleted = changeNoticesFor(events.agent(7, 11, "2026-01-01T00:00:00Z"), position).map(
      (n) => n.table,
    );
    expect(deleted).toEqual(["agents", ...authz]);
  });

  it("keeps one notice per table and ids in a batch, the latest, in order of first appearance", () => {
    const at = (seq: number) => ({ stream: "UNIT_CLUSTER", seq });
    const notices = [
      ...changeNoticesFor(events.heartbeat(7, "2026-01-01T00:00:00Z"), at(1)),
      ...changeNoticesFor(events.heartbeat(8, "2026-01-01T00:00:00Z"), at(2)),
      ...changeNoticesFor(events.heartbeat(7, "2026-01-01T00:00:30Z"), at(3)),
    ];
    expect(dedupeChangeNotices(notices)).toEqual([
      { table: "agent_connections", agent_id: 7, ...at(3) },
      { table: "agent_connections", agent_id: 8, ...at(2) },
    ]);
  });

  it("tells notices apart by every id, whichever field holds it", () => {
    const at = (seq: number) => ({ stream: "UNIT_REGISTRY", seq });
    const distinct = [
      { table: "memberships", user_id: 5, group_id: 2, ...at(1) },
      { table: "memberships", user_id: 5, ...at(2) },
      { table: "memberships", group_id: 5, ...at(3) },
      { table: "memberships", user_id: 2, group_id: 5, ...at(4) },
      { table: "jobs", project_id: 5, user_id: 2, ...at(5) },
      { table: "jobs", agent_id: 5, user_id: 2, ...at(6) },
      { table: "users", user_id: 5, ...at(7) },
    ] as const;
    expect(dedupeChangeNotices(distinct)).toEqual(distinct);
    expect(
      dedupeChangeNotices([...distinct, { table: "memberships", group_id: 2, user_id: 5, ...at(8) }]),
    ).toEqual([{ table: "memberships", user_id: 5, group_id: 2, ...at(8) }, ...distinct.slice(1)]);
  });
});
