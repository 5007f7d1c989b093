import { EVENT_TYPES, KasmapEventSchema } from "@kasmap/contracts";
import { eventually } from "@kasmap/testing/harness";
import { beforeAll, describe, expect, it } from "vitest";
import { authzTestEnvironmentForFile } from "./testing/authz-test-environment.ts";

/**
 * GitLab audits a refused agent creation (`cluster_agent_create_failed`): authz publishes the
 * refusal as `io.kasmap.registry.agent.refused.v1` on the project's subject, from a unit of work
 * of its own (the refused command rolled back), and still answers the refusal.
 */
const env = authzTestEnvironmentForFile();
let world: Awaited<ReturnType<typeof env.registerAgent>>;

beforeAll(async () => {
  world = await env.registerAgent();
});

/** The refusal events published so far, parsed, oldest first. */
async function publishedRefusals() {
  const rows = await env.db
    .selectFrom("authz.outbox")
    .select(["event", "published_at", "stream", "seq"])
    .where("event", "@>", JSON.stringify({ type: EVENT_TYPES.agentChangeRefused }))
    .orderBy("id")
    .execute();
  return rows.map((row) => ({ ...row, event: KasmapEventSchema.parse(row.event) }));
}

describe("refused agent changes", () => {
  it("publishes an invalid or taken name's refusal with the model's messages and the client address", async () => {
    const create = {
      actor_user_id: world.actor_user_id,
      actor_ip_address: "198.51.100.23",
      project_id: world.project_id,
    };
    const invalid = await env.refusal("agent.create", { ...create, name: "Not_Valid" });
    expect(invalid).toMatchObject({
      code: "validation_failed",
      fields: {
        name: ["can contain only lowercase letters, digits, and '-', but cannot start or end with '-'"],
      },
    });
    const taken = await env.refusal("agent.create", { ...create, name: "a" });
    expect(taken).toMatchObject({ code: "validation_failed", fields: { name: ["has already been taken"] } });
    const refusals = await eventually(async () => {
      const all = await publishedRefusals();
      return all.length === 2 && all.every((r) => r.published_at !== null) ? all : undefined;
    }, "two refusals published");
    expect(refusals.map((r) => r.event.data)).toEqual([
      {
        action: "create",
        project_id: world.project_id,
        agent_id: null,
        agent_name: "Not_Valid",
        messages: [
          "Name can contain only lowercase letters, digits, and '-', but cannot start or end with '-'",
        ],
        actor_user_id: world.actor_user_id,
        actor_ip_address: "198.51.100.23",
      },
      {
        action: "create",
        project_id: world.project_id,
        agent_id: null,
        agent_name: "a",
        messages: ["Name has already been taken"],
        actor_user_id: world.actor_user_id,
        actor_ip_address: "198.51.100.23",
      },
    ]);
    const [first] = refusals;
    expect(first?.event.subject).toBe(env.bus.topology.subjects.agentChangeRefused(world.project_id));
    expect(first?.stream).toBe(env.bus.topology.streamNames.registry);
    // The refused command itself left nothing: no agent named Not_Valid.
    const stored = await env.db
      .selectFrom("authz.agents")
      .select("id")
      .where("name", "=", "Not_Valid")
      .execute();
    expect(stored).toEqual([]);
  });

  it("records no refusal for what GitLab's API refuses before its service: a role too low, an unknown project or agent", async () => {
    const before = (await publishedRefusals()).length;
    const developer = await env.createUser("dev-refusals");
    await env.setMembership({ project: world.project_id }, developer, 30);
    const forbidden = await env.refusal("agent.create", {
      actor_user_id: developer,
      project_id: world.project_id,
      name: "Not_Valid",
    });
    expect(forbidden.code).toBe("forbidden");
    const missing = await env.refusal("agent.delete", {
      actor_user_id: world.actor_user_id,
      project_id: world.project_id,
      agent_id: 999_999,
    });
    expect(missing.code).toBe("not_found");
    expect((await publishedRefusals()).length).toBe(before);
  });
});
