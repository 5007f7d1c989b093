import { EVENT_TYPES, KasmapEventSchema, newKasmapEvent } from "@kasmap/contracts";
import { eventually } from "@kasmap/testing/harness";
import { describe, expect, it } from "vitest";
import { AUTHZ_EVENT_SOURCE } from "./registry-events.ts";
import { authzTestEnvironmentForFile } from "./testing/authz-test-environment.ts";

/**
 * Issue 7.3: an outbox row that can never be published (here: an event over NATS `max_payload`,
 * as a row written before the size guard or under a larger server limit would be) must be set
 * aside, so the rows behind it — a membership downgrade — still reach NATS.
 */
const env = authzTestEnvironmentForFile();

/** A schema-valid authz.changed event of about 1.2 MB: one grant with 2,000 long environments. */
function unpublishableEvent(agentId: number, projectId: number) {
  const environments = Array.from({ length: 2_000 }, (_, i) => `env-${i}-${"e".repeat(600)}`);
  return newKasmapEvent({
    type: EVENT_TYPES.authzChanged,
    source: AUTHZ_EVENT_SOURCE,
    subject: env.bus.topology.subjects.authzChanged(agentId),
    data: {
      agent_id: agentId,
      config_project_id: projectId,
      cause: "config_changed",
      grants: {
        ci_access: { projects: [{ project_id: projectId, config: { environments } }], groups: [] },
        user_access: { projects: [], groups: [] },
      },
      added: [],
      removed: [],
      dropped: [],
      dropped_count: 0,
      actor_user_id: null,
    },
  });
}

/** The access levels of `userId`'s project memberships on the registry stream, oldest first. */
async function projectMembershipLevelsOf(userId: number) {
  const stream = env.bus.topology.streamNames.registry;
  const info = await env.bus.jsm.streams.info(stream);
  const levels: number[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const event = KasmapEventSchema.parse((await env.bus.jsm.streams.getMessage(stream, { seq }))?.json());
    if (event.type !== EVENT_TYPES.membershipChanged) continue;
    const { membership } = event.data;
    if (membership.user_id === userId && membership.source_type === "project")
      levels.push(membership.access_level ?? 0);
  }
  return levels;
}

describe("outbox rows that cannot be published", () => {
  it("are set aside and never block the rows behind them", async () => {
    const { actor_user_id, project_id, agent_id } = await env.registerAgent();
    const user = await env.command("user.create", { actor_user_id, username: "dev", name: "Dev" });
    const membership = {
      actor_user_id,
      source_type: "project" as const,
      source_id: project_id,
      user_id: user.result.id,
    };
    await env.command("membership.set", { ...membership, access_level: 40 });

    await env.service.stop();
    const stuck = unpublishableEvent(agent_id, project_id);
    expect(Buffer.byteLength(JSON.stringify(stuck))).toBeGreaterThan(1024 * 1024);
    await env.db
      .insertInto("authz.outbox")
      .values({ event: JSON.stringify(stuck) })
      .execute();
    await env.restart();

    // The downgrade answers, and its event reaches the stream behind the unpublishable row.
    await env.command("membership.set", { ...membership, access_level: 20 });
    const levels = await eventually(async () => {
      const seen = await projectMembershipLevelsOf(user.result.id);
      return seen.includes(20) ? seen : undefined;
    }, "the downgrade on the registry stream");
    expect(levels).toEqual([40, 20]);

    const row = await env.db
      .selectFrom("authz.outbox")
      .selectAll()
      .where("event", "@>", JSON.stringify({ id: stuck.id }))
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ published_at: null, set_aside_reason: expect.stringMatching(/max_payload/) });
    expect(row.set_aside_at).toBeInstanceOf(Date);
    expect(await env.service.outboxStatus()).toMatchObject({
      pending: 0,
      oldest_pending_age_seconds: null,
      set_aside: 1,
    });
    expect((await env.command("outbox.status", {})).result).toMatchObject({
      pending: 0,
      oldest_pending_age_seconds: null,
      set_aside: 1,
    });
  });

  it("refuses a command whose event could never be published, and commits nothing", async () => {
    const before = await env.service.outboxStatus();
    // The request itself fits in max_payload; the event adds its envelope and does not.
    const description = "d".repeat(1024 * 1024 - 1_000);
    const refused = await env.refusal("group.create", {
      actor_user_id: env.adminId,
      name: "Huge",
      path: "huge",
      description,
    });
    expect(refused).toMatchObject({
      code: "payload_too_large",
      message: expect.stringMatching(/max_payload/),
    });
    const stored = await env.db.selectFrom("authz.groups").select("id").where("path", "=", "huge").execute();
    expect(stored).toEqual([]);
    expect(await env.service.outboxStatus()).toEqual(before);
    const next = await env.command("group.create", {
      actor_user_id: env.adminId,
      name: "Huge",
      path: "huge",
    });
    expect(next.positions.length).toBeGreaterThan(0);
  });
});
