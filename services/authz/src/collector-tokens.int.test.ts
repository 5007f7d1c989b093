import {
  ACCESS_LEVELS,
  digestToken,
  EVENT_TYPES,
  KasmapEventSchema,
  type StreamPosition,
  TOKEN_PREFIXES,
} from "@kasmap/contracts";
import { beforeAll, describe, expect, it } from "vitest";
import { agentTokenRow } from "./testing/agent-token-row.ts";
import { authzTestEnvironmentForFile } from "./testing/authz-test-environment.ts";
import { revokeTwice } from "./testing/revoke-twice.ts";

/** Collector tokens (issue 9 item 5): `kmcol-` credentials of an agent, beside its agent tokens. */

const env = authzTestEnvironmentForFile();
let ids: { actor_user_id: number; project_id: number; agent_id: number };
/** A second agent in the same project, to show one agent's tokens never open another. */
let otherAgentId: number;

beforeAll(async () => {
  const { actor_user_id, project_id, agent_id } = await env.registerAgent();
  ids = { actor_user_id, project_id, agent_id };
  const other = await env.command("agent.create", { actor_user_id, project_id, name: "other" });
  otherAgentId = other.result.id;
});

async function storedEventBody(position: StreamPosition | undefined): Promise<string> {
  const message = await env.bus.jsm.streams.getMessage(position?.stream ?? "", { seq: position?.seq ?? 0 });
  return message?.string() ?? "";
}

describe("collector tokens", () => {
  it("mints a kmcol- token shown once, stored and published as its digest only", async () => {
    const created = await env.command("collector_token.create", {
      ...ids,
      name: "prod",
      description: "eu-1",
    });
    const { token, plaintext } = created.result;
    expect(plaintext.startsWith(TOKEN_PREFIXES.collector)).toBe(true);
    expect(token).toMatchObject({ kind: "collector", name: "prod", description: "eu-1", status: "active" });
    expect(token).not.toHaveProperty("token_sha256");

    const row = await agentTokenRow(env.db, token.id);
    expect(row).toMatchObject({
      kind: "collector",
      agent_id: ids.agent_id,
      token_sha256: digestToken(plaintext),
    });
    expect(JSON.stringify(row)).not.toContain(plaintext);

    expect(created.positions).toHaveLength(1);
    const body = await storedEventBody(created.positions[0]);
    expect(body).not.toContain(plaintext);
    expect(KasmapEventSchema.parse(JSON.parse(body))).toMatchObject({
      type: EVENT_TYPES.agentTokenChanged,
      data: { token: { id: token.id, kind: "collector", token_sha256: digestToken(plaintext) } },
    });
    await env.command("collector_token.revoke", { ...ids, token_id: token.id });
  });

  it("allows two active collector tokens per agent, refuses a third, and counts agent tokens apart", async () => {
    const agent = await env.command("agent.create", { ...ids, name: "limits" });
    const at = { ...ids, agent_id: agent.result.id };
    const first = await env.command("collector_token.create", { ...at, name: "one" });
    await env.command("collector_token.create", { ...at, name: "two" });
    const third = await env.refusal("collector_token.create", { ...at, name: "three" });
    expect(third).toMatchObject({
      code: "bad_request",
      message: "An agent can have only two active collector tokens at a time",
    });
    // The agent's own tokens have their own two.
    await env.command("agent_token.create", { ...at, name: "agent-one" });
    await env.command("agent_token.create", { ...at, name: "agent-two" });

    await revokeTwice(env, "collector_token.revoke", { ...at, token_id: first.result.token.id });
    await env.command("collector_token.create", { ...at, name: "three" });

    const active = await env.db
      .selectFrom("authz.agent_tokens")
      .select(["name", "kind"])
      .where("agent_id", "=", agent.result.id)
      .where("status", "=", "active")
      .orderBy("id")
      .execute();
    expect(active).toEqual([
      { name: "two", kind: "collector" },
      { name: "agent-one", kind: "agent" },
      { name: "agent-two", kind: "agent" },
      { name: "three", kind: "collector" },
    ]);
  });

  it("authenticates a collector token as its own agent, and stops once it is revoked", async () => {
    const created = await env.command("collector_token.create", { ...ids, name: "auth" });
    const { plaintext, token } = created.result;
    const accepted = await env.command("agent_token.authenticate", { token: plaintext });
    expect(accepted.result).toEqual({
      agent_id: ids.agent_id,
      token_id: token.id,
      project_id: ids.project_id,
      token_kind: "collector",
      // The re-authentication lease (issue 9): KASMAP_AGENT_TOKEN_LEASE_SECONDS from now.
      lease_expires_at: expect.any(String),
    });
    expect(Date.parse(accepted.result.lease_expires_at ?? "")).toBeGreaterThan(Date.now());
    const used = await env.db
      .selectFrom("authz.agent_tokens")
      .select("last_used_at")
      .where("id", "=", token.id)
      .executeTakeFirstOrThrow();
    expect(used.last_used_at).not.toBeNull();

    // The prefix names the kind: the same secret under GitLab's prefix opens nothing.
    const secret = plaintext.slice(TOKEN_PREFIXES.collector.length);
    const disguised = await env.refusal("agent_token.authenticate", {
      token: `${TOKEN_PREFIXES.agent}${secret}`,
    });
    expect(disguised.code).toBe("unauthorized");
    const bare = await env.refusal("agent_token.authenticate", { token: secret });
    expect(bare.code).toBe("unauthorized");
    const unknown = await env.refusal("agent_token.authenticate", {
      token: `${TOKEN_PREFIXES.collector}nope`,
    });
    expect(unknown.code).toBe("unauthorized");

    await env.command("collector_token.revoke", { ...ids, token_id: token.id });
    const revoked = await env.refusal("agent_token.authenticate", { token: plaintext });
    expect(revoked.code).toBe("unauthorized");
  });

  it("keeps each agent's tokens and each kind's routes apart", async () => {
    const collector = await env.command("collector_token.create", { ...ids, name: "mine" });
    const onOtherAgent = await env.refusal("collector_token.revoke", {
      ...ids,
      agent_id: otherAgentId,
      token_id: collector.result.token.id,
    });
    expect(onOtherAgent).toMatchObject({ code: "not_found", message: "CollectorToken" });
    const asAgentToken = await env.refusal("agent_token.revoke", {
      ...ids,
      token_id: collector.result.token.id,
    });
    expect(asAgentToken).toMatchObject({ code: "not_found", message: "AgentToken" });

    const agentToken = await env.command("agent_token.create", { ...ids, agent_id: otherAgentId, name: "a" });
    const asCollectorToken = await env.refusal("collector_token.revoke", {
      ...ids,
      agent_id: otherAgentId,
      token_id: agentToken.result.token.id,
    });
    expect(asCollectorToken).toMatchObject({ code: "not_found", message: "CollectorToken" });

    const still = await env.command("agent_token.authenticate", { token: collector.result.plaintext });
    expect(still.result.agent_id).toBe(ids.agent_id);
    await env.command("collector_token.revoke", { ...ids, token_id: collector.result.token.id });
  });

  it("answers Maintainer+ only: a Developer is forbidden, a non-member sees no project", async () => {
    const developer = await env.createUser("dev", "Dev");
    await env.setMembership({ project: ids.project_id }, developer, ACCESS_LEVELS.developer);
    const outsider = await env.createUser("out", "Out");
    const asDeveloper = await env.refusal("collector_token.create", {
      ...ids,
      actor_user_id: developer,
      name: "x",
    });
    expect(asDeveloper.code).toBe("forbidden");
    const asOutsider = await env.refusal("collector_token.create", {
      ...ids,
      actor_user_id: outsider,
      name: "x",
    });
    expect(asOutsider).toMatchObject({ code: "not_found", message: "Project" });
    const missingAgent = await env.refusal("collector_token.create", {
      ...ids,
      agent_id: 999_999,
      name: "x",
    });
    expect(missingAgent).toMatchObject({ code: "not_found", message: "ClusterAgents" });
  });

  it("revokes an agent's collector tokens with the agent", async () => {
    const agent = await env.command("agent.create", { ...ids, name: "doomed" });
    const at = { ...ids, agent_id: agent.result.id };
    const created = await env.command("collector_token.create", { ...at, name: "c" });
    await env.command("agent.delete", at);
    const refused = await env.refusal("agent_token.authenticate", { token: created.result.plaintext });
    expect(refused.code).toBe("unauthorized");
  });
});
