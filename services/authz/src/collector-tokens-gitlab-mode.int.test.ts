import { TOKEN_PREFIXES } from "@kasmap/contracts";
import { beforeAll, describe, expect, it } from "vitest";
import { authzTestEnvironmentForFile } from "./testing/authz-test-environment.ts";

/**
 * Collector tokens in GitLab mode (issue 9 item 5): the caller is a GitLab user this registry
 * does not hold; the gateway has asked GitLab (Maintainer+ on the agent's project), and authz
 * trusts that answer for collector tokens of mirrored agents — and for nothing else.
 */

const CREATED = "2026-11-30T10:00:00.000Z";
const GROUP = 9100;
const PROJECT = 9101;
const AGENT = 177;
/** A GitLab user id; no such user exists in Kasmap's registry. */
const GITLAB_USER = 4242;
/** The GitLab caller, on the mirrored agent. */
const onTheAgent = { actor_user_id: GITLAB_USER, project_id: PROJECT, agent_id: AGENT };

const env = authzTestEnvironmentForFile({ gitlabMode: true });

beforeAll(async () => {
  await env.command("mirror.group.put", {
    id: GROUP,
    name: "Operators",
    path: "operators",
    description: null,
    parent_id: null,
    created_at: CREATED,
  });
  await env.command("mirror.project.put", {
    id: PROJECT,
    name: "Agent-Project",
    path: "agent-project",
    description: null,
    namespace: { id: GROUP, kind: "group", path: "operators", name: "Operators" },
    created_at: CREATED,
  });
  await env.command("mirror.agent.put", {
    id: AGENT,
    project_id: PROJECT,
    name: "prod",
    created_at: CREATED,
  });
});

describe("collector tokens in GitLab mode", () => {
  it("mints one for a mirrored agent on the gateway's word, with the GitLab caller as the event's actor", async () => {
    const created = await env.command("collector_token.create", { ...onTheAgent, name: "eu-1" });
    expect(created.result.plaintext.startsWith(TOKEN_PREFIXES.collector)).toBe(true);
    expect(created.result.token).toMatchObject({
      agent_id: AGENT,
      kind: "collector",
      created_by_user_id: null,
    });

    const authenticated = await env.command("agent_token.authenticate", { token: created.result.plaintext });
    expect(authenticated.result).toMatchObject({ agent_id: AGENT, project_id: PROJECT });

    const revoked = await env.command("collector_token.revoke", {
      ...onTheAgent,
      token_id: created.result.token.id,
    });
    expect(revoked.result.status).toBe("revoked");
  });

  it("answers 404 for an agent that is not in the mirror, or not in that project", async () => {
    const request = { ...onTheAgent, name: "x" };
    expect((await env.refusal("collector_token.create", { ...request, agent_id: 9999 })).code).toBe(
      "not_found",
    );
    expect(
      (await env.refusal("collector_token.create", { ...request, project_id: 9999, agent_id: AGENT })).code,
    ).toBe("not_found");
  });

  it("still checks its own registry for GitLab's agent tokens: the GitLab caller is nobody there", async () => {
    const refusal = await env.refusal("agent_token.create", { ...onTheAgent, name: "x" });
    expect(refusal.code).toBe("unauthorized");
    const count = await env.db
      .selectFrom("authz.agent_tokens")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("kind", "=", "agent")
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(0);
  });
});
