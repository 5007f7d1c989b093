import { digestToken, EVENT_TYPES, KasmapEventSchema, newKasmapEvent } from "@kasmap/contracts";
import { eventually } from "@kasmap/testing/harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTHZ_EVENT_SOURCE } from "./registry-events.ts";
import { type AuthzTestEnvironment, startAuthzTestEnvironment } from "./testing/authz-test-environment.ts";

let env: AuthzTestEnvironment;
const plaintexts: string[] = [];

beforeAll(async () => {
  env = await startAuthzTestEnvironment();
  plaintexts.push(env.adminToken);
});

afterAll(async () => {
  await env?.close();
});

/** Every stored message of every stream of this file's topology. */
async function allMessages() {
  const messages = [];
  for (const stream of env.bus.topology.streams) {
    const info = await env.bus.jsm.streams.info(stream.name);
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const message = await env.bus.jsm.streams.getMessage(stream.name, { seq });
      if (message) messages.push({ stream: stream.name, seq, message });
    }
  }
  return messages;
}

describe("transactional outbox", () => {
  it("publishes each command's events, returns their positions, and never a plaintext token", async () => {
    const { actor_user_id, project_id, agentCreated: agent } = await env.registerAgent();
    const token = await env.command("agent_token.create", {
      actor_user_id,
      project_id,
      agent_id: agent.result.id,
      name: "t",
    });
    plaintexts.push(token.result.plaintext);
    const pat = await env.command("personal_access_token.create", {
      actor_user_id,
      user_id: actor_user_id,
      name: "x",
    });
    plaintexts.push(pat.result.plaintext);
    const job = await env.command("job.create", { actor_user_id, project_id });
    plaintexts.push(job.result.plaintext);
    await env.command("agent_token.authenticate", { token: token.result.plaintext });

    // agent.create: the agent (registry stream), then its empty grant set (authz stream).
    expect(agent.positions.map((p) => p.stream)).toEqual([
      env.bus.topology.streamNames.registry,
      env.bus.topology.streamNames.authz,
    ]);
    const [registryPosition] = agent.positions;
    const stored = await env.bus.jsm.streams.getMessage(registryPosition?.stream ?? "", {
      seq: registryPosition?.seq ?? 0,
    });
    expect(KasmapEventSchema.parse(stored?.json())).toMatchObject({
      type: EVENT_TYPES.agentChanged,
      data: { agent: { id: agent.result.id } },
    });

    const messages = await allMessages();
    expect(messages.length).toBeGreaterThanOrEqual(10);
    for (const { message } of messages) {
      const event = KasmapEventSchema.parse(message.json());
      expect(message.header?.get("Nats-Msg-Id")).toBe(event.id);
      expect(event.source).toBe(AUTHZ_EVENT_SOURCE);
      const body = message.string();
      for (const secret of plaintexts) expect(body).not.toContain(secret);
    }
    const digests = messages.map(({ message }) => message.string());
    expect(digests.some((body) => body.includes(digestToken(token.result.plaintext)))).toBe(true);
  });

  it("publishes events left in the outbox by a crashed process when it restarts", async () => {
    await env.service.stop();
    const leftover = newKasmapEvent({
      type: EVENT_TYPES.userChanged,
      source: AUTHZ_EVENT_SOURCE,
      subject: env.bus.topology.subjects.registryChanged("user", 4242),
      data: {
        user: {
          id: 4242,
          username: "ghost",
          name: "Ghost",
          is_admin: false,
          state: "active",
          created_at: new Date().toISOString(),
        },
        actor_user_id: null,
      },
    });
    await env.db
      .insertInto("authz.outbox")
      .values({ event: JSON.stringify(leftover) })
      .execute();
    await env.restart();
    const row = await eventually(
      () =>
        env.db
          .selectFrom("authz.outbox")
          .select(["published_at", "stream", "seq"])
          .where("event", "@>", JSON.stringify({ id: leftover.id }))
          .executeTakeFirst()
          .then((r) => (r?.published_at ? r : undefined)),
      "leftover published",
    );
    const message = await env.bus.jsm.streams.getMessage(row.stream ?? "", { seq: row.seq ?? 0 });
    expect(message?.header?.get("Nats-Msg-Id")).toBe(leftover.id);
  });

  it("publishes the same outbox row only once even when it is published again (Nats-Msg-Id)", async () => {
    const before = await env.bus.jsm.streams.info(env.bus.topology.streamNames.registry);
    // Forget that everything was published, as after a crash between publish and marking.
    await env.db.updateTable("authz.outbox").set({ published_at: null }).execute();
    await env.restart();
    const after = await env.bus.jsm.streams.info(env.bus.topology.streamNames.registry);
    expect(after.state.messages).toBe(before.state.messages);
    const unpublished = await env.db
      .selectFrom("authz.outbox")
      .select("id")
      .where("published_at", "is", null)
      .execute();
    expect(unpublished).toEqual([]);
  });

  it("bootstraps the admin idempotently across restarts", async () => {
    const registryBefore = await env.bus.jsm.streams.info(env.bus.topology.streamNames.registry);
    await env.restart();
    const roots = await env.db
      .selectFrom("authz.users")
      .select(["id", "is_admin", "name"])
      .where("username", "=", "root")
      .execute();
    expect(roots).toEqual([{ id: env.adminId, is_admin: true, name: "Administrator" }]);
    const tokens = await env.db
      .selectFrom("authz.personal_access_tokens")
      .select("user_id")
      .where("token_sha256", "=", digestToken(env.adminToken))
      .execute();
    expect(tokens).toEqual([{ user_id: env.adminId }]);
    const registryAfter = await env.bus.jsm.streams.info(env.bus.topology.streamNames.registry);
    expect(registryAfter.state.messages).toBe(registryBefore.state.messages);
  });
});
