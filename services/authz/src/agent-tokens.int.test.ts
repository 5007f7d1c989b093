import { beforeAll, describe, expect, it } from "vitest";
import { authzTestEnvironmentForFile } from "./testing/authz-test-environment.ts";
import { revokeTwice } from "./testing/revoke-twice.ts";

const env = authzTestEnvironmentForFile();
let ids: { actor_user_id: number; project_id: number; agent_id: number };

beforeAll(async () => {
  const { actor_user_id, project_id, agent_id } = await env.registerAgent();
  ids = { actor_user_id, project_id, agent_id };
});

describe("agent tokens", () => {
  it("allows two active tokens, refuses a third with GitLab's message, and allows one after a revoke", async () => {
    const first = await env.command("agent_token.create", { ...ids, name: "one", description: "first" });
    expect(first.result.plaintext).toMatch(/^glagent-/);
    expect(first.result.token).toMatchObject({ name: "one", description: "first", status: "active" });
    expect(first.result.token).not.toHaveProperty("token_sha256");
    await env.command("agent_token.create", { ...ids, name: "two" });
    const third = await env.refusal("agent_token.create", { ...ids, name: "three" });
    expect(third).toMatchObject({
      code: "bad_request",
      message: "An agent can have only two active tokens at a time",
    });
    await revokeTwice(env, "agent_token.revoke", { ...ids, token_id: first.result.token.id });
    await env.command("agent_token.create", { ...ids, name: "three" });
  });

  it("authenticates active tokens only, and records last use at most once a minute", async () => {
    await env.db.updateTable("authz.agent_tokens").set({ status: "revoked" }).execute();
    const token = await env.command("agent_token.create", { ...ids, name: "collector" });
    const first = await env.command("agent_token.authenticate", { token: token.result.plaintext });
    expect(first.result).toEqual({
      agent_id: ids.agent_id,
      token_id: token.result.token.id,
      project_id: ids.project_id,
      token_kind: "agent",
      lease_expires_at: expect.any(String),
    });
    expect(first.positions).toHaveLength(1);
    const second = await env.command("agent_token.authenticate", { token: token.result.plaintext });
    expect(second.positions).toEqual([]);
    const row = await env.db
      .selectFrom("authz.agent_tokens")
      .select("last_used_at")
      .where("id", "=", token.result.token.id)
      .executeTakeFirstOrThrow();
    expect(row.last_used_at).not.toBeNull();

    const unknown = await env.refusal("agent_token.authenticate", { token: "glagent-not-a-real-token" });
    expect(unknown.code).toBe("unauthorized");
    await env.command("agent_token.revoke", { ...ids, token_id: token.result.token.id });
    const revoked = await env.refusal("agent_token.authenticate", { token: token.result.plaintext });
    expect(revoked.code).toBe("unauthorized");
  });

  it("hides tokens of another project's agent", async () => {
    const missing = await env.refusal("agent_token.revoke", { ...ids, token_id: 999_999 });
    expect(missing).toMatchObject({ code: "not_found", message: "AgentToken" });
  });
});
