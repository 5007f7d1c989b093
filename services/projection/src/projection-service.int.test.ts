import { publishEvent } from "@kasmap/bus";
import {
  EMPTY_GRANT_SET,
  EVENT_TYPES,
  type Group,
  newKasmapEvent,
  type Project,
  type ReadModelNotice,
  ReadModelNoticeSchema,
} from "@kasmap/contracts";
import { buildClusterFacts, replicaHeartbeat } from "@kasmap/testing";
import { eventually } from "@kasmap/testing/harness";
import { beforeAll, describe, expect, it } from "vitest";
import { projectionContextForFile } from "./testing/projection-context.ts";

const ctx = projectionContextForFile("projection-service-int-test");
const notices: ReadModelNotice[] = [];

beforeAll(async () => {
  ctx.bus.nc.subscribe(ctx.topology.wildcards.readModelChanged, {
    callback: (_error, message) => void notices.push(ReadModelNoticeSchema.parse(message.json())),
  });
  await ctx.startService();
});

const GRANTS = {
  ci_access: {
    projects: [{ project_id: 11, config: { default_namespace: "apps" } }],
    groups: [{ group_id: 1, config: { access_as: { ci_job: {} } } }],
  },
  user_access: {
    projects: [{ project_id: 11, config: { access_as: { agent: {} } } }],
    groups: [{ group_id: 1, config: { access_as: { user: {} } } }],
  },
};

/** The projection applies a collector's events only for a known agent with an active token. */
async function registerAgent(agentId: number): Promise<void> {
  await publishEvent(ctx.bus, ctx.events.agent(agentId, 11));
  await publishEvent(ctx.bus, ctx.events.agentToken(agentId * 10, agentId));
  await ctx.caughtUp();
}

/** A deleted agent keeps no authorization rows and no authorization report. */
async function expectNoAuthorizationRows(agentId: number): Promise<void> {
  for (const table of [
    "read_model.ci_access_project_authorizations",
    "read_model.user_access_group_authorizations",
    "read_model.agent_authorization_reports",
  ] as const) {
    expect(
      await ctx.db.selectFrom(table).select("agent_id").where("agent_id", "=", agentId).execute(),
    ).toEqual([]);
  }
}

describe("projection service", () => {
  it("applies every event kind to the read model", async () => {
    const e = ctx.events;
    for (const event of [
      e.group(1),
      e.project(11, 1),
      e.user(5),
      e.membership({ id: 50, user_id: 5, source_type: "project", source_id: 11, access_level: 30 }),
      e.personalAccessToken(60, 5),
      e.agent(7, 11),
      e.agentToken(70, 7),
      e.job(80, 11),
      e.authz(7, 11, GRANTS),
      e.snapshot(7, buildClusterFacts()),
      e.heartbeat(7, "2026-01-01T00:01:00.000Z"),
    ]) {
      await publishEvent(ctx.bus, event);
    }
    await ctx.caughtUp();
    const db = ctx.db;
    expect(await db.selectFrom("read_model.groups").select(["id", "traversal_ids"]).execute()).toEqual([
      { id: 1, traversal_ids: [1] },
    ]);
    expect(await db.selectFrom("read_model.projects").select("namespace_id").execute()).toEqual([
      { namespace_id: 1 },
    ]);
    expect(await db.selectFrom("read_model.users").select("username").execute()).toEqual([
      { username: "user5" },
    ]);
    expect(await db.selectFrom("read_model.memberships").select("access_level").execute()).toEqual([
      { access_level: 30 },
    ]);
    expect(
      await db.selectFrom("read_model.personal_access_tokens").select(["expires_at", "scopes"]).execute(),
    ).toEqual([{ expires_at: expect.anything(), scopes: ["api", "read_api"] }]);
    expect(await db.selectFrom("read_model.agents").select(["id", "project_id"]).execute()).toEqual([
      { id: 7, project_id: 11 },
    ]);
    expect(await db.selectFrom("read_model.agent_tokens").select("agent_id").execute()).toEqual([
      { agent_id: 7 },
    ]);
    expect(await db.selectFrom("read_model.jobs").select("environment").execute()).toEqual([
      { environment: { name: "production", tier: "production", slug: "production" } },
    ]);
    expect(await db.selectFrom("read_model.ci_access_project_authorizations").selectAll().execute()).toEqual([
      { agent_id: 7, project_id: 11, config: { default_namespace: "apps" } },
    ]);
    expect(
      await db.selectFrom("read_model.ci_access_group_authorizations").select("group_id").execute(),
    ).toHaveLength(1);
    expect(
      await db.selectFrom("read_model.user_access_project_authorizations").select("project_id").execute(),
    ).toHaveLength(1);
    expect(
      await db.selectFrom("read_model.user_access_group_authorizations").select("group_id").execute(),
    ).toHaveLength(1);
    const report = await db
      .selectFrom("read_model.agent_authorization_reports")
      .selectAll()
      .executeTakeFirstOrThrow();
    expect(report.dropped).toEqual([expect.objectContaining({ path: "nope/missing", reason: "not-found" })]);
    const snapshot = await db
      .selectFrom("read_model.cluster_snapshots")
      .selectAll()
      .executeTakeFirstOrThrow();
    expect(snapshot.cluster).toEqual(buildClusterFacts());
    const connection = await db
      .selectFrom("read_model.agent_connections")
      .selectAll()
      .executeTakeFirstOrThrow();
    expect(connection.last_heartbeat_at.toISOString()).toBe("2026-01-01T00:01:00.000Z");
  });

  it("publishes a change notice per changed table after the commit", async () => {
    const published = await publishEvent(ctx.bus, ctx.events.agentToken(71, 7));
    const notice = await eventually(
      () => notices.find((n) => n.table === "agent_tokens" && n.seq === published.seq),
      "agent token notice",
    );
    expect(notice).toEqual({
      table: "agent_tokens",
      agent_id: 7,
      stream: published.stream,
      seq: published.seq,
    });
  });

  it("replaces an agent's grant set and deletes removed rows", async () => {
    await publishEvent(ctx.bus, ctx.events.authz(7, 11, EMPTY_GRANT_SET));
    await ctx.caughtUp();
    expect(
      await ctx.db.selectFrom("read_model.ci_access_project_authorizations").selectAll().execute(),
    ).toEqual([]);
    expect(
      await ctx.db.selectFrom("read_model.user_access_group_authorizations").selectAll().execute(),
    ).toEqual([]);
  });

  it("deletes removed memberships and deleted agents with their authorizations", async () => {
    await publishEvent(ctx.bus, ctx.events.authz(8, 11, GRANTS));
    await publishEvent(ctx.bus, ctx.events.agent(8, 11));
    await publishEvent(
      ctx.bus,
      ctx.events.membership({
        id: 50,
        user_id: 5,
        source_type: "project",
        source_id: 11,
        access_level: null,
      }),
    );
    await publishEvent(ctx.bus, ctx.events.agent(8, 11, "2026-02-01T00:00:00.000Z"));
    await ctx.caughtUp();
    expect(await ctx.db.selectFrom("read_model.memberships").selectAll().execute()).toEqual([]);
    expect(await ctx.db.selectFrom("read_model.agents").select("id").where("id", "=", 8).execute()).toEqual(
      [],
    );
    await expectNoAuthorizationRows(8);
  });

  it("drops a group and a project whose last event says they were removed (GitLab mode)", async () => {
    const group = ctx.events.group(90);
    const project = ctx.events.project(91, 90);
    await publishEvent(ctx.bus, group);
    await publishEvent(ctx.bus, project);
    await ctx.caughtUp();
    const removedAt = "2026-03-01T00:00:00.000Z";
    const removed = (kind: "group" | "project", entity: Group | Project) =>
      newKasmapEvent({
        type: kind === "group" ? EVENT_TYPES.groupChanged : EVENT_TYPES.projectChanged,
        source: "/kasmap/test",
        subject: ctx.topology.subjects.registryChanged(kind, entity.id),
        data: { [kind]: { ...entity, deleted_at: removedAt }, actor_user_id: null } as never,
      });
    await publishEvent(ctx.bus, removed("project", (project.data as { project: Project }).project));
    await publishEvent(ctx.bus, removed("group", (group.data as { group: Group }).group));
    await ctx.caughtUp();
    expect(
      await ctx.db.selectFrom("read_model.projects").select("id").where("id", "=", 91).execute(),
    ).toEqual([]);
    expect(await ctx.db.selectFrom("read_model.groups").select("id").where("id", "=", 90).execute()).toEqual(
      [],
    );
  });

  it("leaves no rows for a deleted agent when its grant set arrives after the deletion (another stream)", async () => {
    await publishEvent(ctx.bus, ctx.events.agent(18, 11));
    await publishEvent(ctx.bus, ctx.events.agent(18, 11, "2026-02-01T00:00:00.000Z"));
    await ctx.caughtUp();
    await publishEvent(ctx.bus, ctx.events.authz(18, 11, GRANTS));
    await ctx.caughtUp();
    await expectNoAuthorizationRows(18);
  });

  it("keeps the newer heartbeat when an older one arrives later", async () => {
    await registerAgent(9);
    // Each collector on its own subject, as collectors publish since issue 11: the stream keeps
    // the latest heartbeat per subject, so on one shared subject "old" would delete "new" from
    // the stream whenever the projection had not read it yet. Published while the projection is
    // stopped, both are read in one batch, "old" after "new", every run.
    await ctx.stopService();
    await publishEvent(ctx.bus, replicaHeartbeat(ctx.topology, 9, "new", "2026-03-01T00:00:10.000Z"));
    await publishEvent(ctx.bus, replicaHeartbeat(ctx.topology, 9, "old", "2026-03-01T00:00:00.000Z"));
    await ctx.startService();
    await ctx.caughtUp();
    const row = await ctx.db
      .selectFrom("read_model.agent_connections")
      .selectAll()
      .where("agent_id", "=", 9)
      .executeTakeFirstOrThrow();
    expect(row.collector_id).toBe("new");
    expect(row.last_heartbeat_at.toISOString()).toBe("2026-03-01T00:00:10.000Z");
  });

  it("keeps every snapshot in the history and the latest as current", async () => {
    await registerAgent(10);
    const first = await publishEvent(ctx.bus, ctx.events.snapshot(10, buildClusterFacts({ node_count: 1 })));
    const second = await publishEvent(
      ctx.bus,
      ctx.events.snapshot(10, buildClusterFacts({ node_count: 3, observed_at: "2026-01-02T00:00:00.000Z" })),
    );
    await ctx.caughtUp();
    const history = await ctx.db
      .selectFrom("read_model.cluster_snapshot_history")
      .select(["stream_seq", "cluster"])
      .where("agent_id", "=", 10)
      .orderBy("stream_seq")
      .execute();
    expect(history.map((h) => h.stream_seq)).toEqual([first.seq, second.seq]);
    const current = await ctx.db
      .selectFrom("read_model.cluster_snapshots")
      .selectAll()
      .where("agent_id", "=", 10)
      .executeTakeFirstOrThrow();
    expect(current.stream_seq).toBe(second.seq);
    expect(current.cluster).toMatchObject({ node_count: 3 });
  });

  it("applies a re-published event (new message id) without changing the rows", async () => {
    const rowsBefore = await ctx.db.selectFrom("read_model.groups").selectAll().execute();
    await publishEvent(ctx.bus, ctx.events.group(1));
    await ctx.caughtUp();
    expect(await ctx.db.selectFrom("read_model.groups").selectAll().execute()).toEqual(rowsBefore);
  });
});
