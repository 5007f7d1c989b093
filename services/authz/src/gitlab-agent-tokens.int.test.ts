import { randomBytes } from "node:crypto";
import { digestToken } from "@kasmap/contracts";
import type { GitLabSimulator, SimAgent } from "@kasmap/testing/gitlab-simulator";
import { mirrorSimulatedAgent, startGitLabSimulator } from "@kasmap/testing/gitlab-simulator";
import { eventually } from "@kasmap/testing/harness";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GitLabAgentTokenOptions } from "./index.ts";
import { agentTokenRow } from "./testing/agent-token-row.ts";
import { authzTestEnvironmentForFile } from "./testing/authz-test-environment.ts";

/**
 * GitLab's agent tokens with GitLab's KAS secret (issue 9 item 5, optional part): authz asks
 * GitLab's internal `agent_info` API (here the simulator's) whose token a `glagent-` is, accepts
 * it for a mirrored agent only, records only its SHA-256, and fails closed when GitLab is away.
 */

const kasSecret = randomBytes(32);
const env = authzTestEnvironmentForFile({ gitlabMode: true });
/** Every line authz logs in this file (its logger writes here, at info). */
const logLines: string[] = [];
let gitlab: GitLabSimulator;
let mirrored: SimAgent;
/** In GitLab, not (yet) in the mirror. */
let unmirrored: SimAgent;
/** Of a project of its own; leaves the mirror and comes back. */
let moving: SimAgent;

function agentTokenOptions(ttlSeconds: number): GitLabAgentTokenOptions {
  return { gitlabUrl: gitlab.url, kasSecret, ttlSeconds, timeoutMs: 2_000 };
}

/** A fresh authz process: nothing cached (as after the TTL), logging into `logLines`. */
async function restartAuthz(ttlSeconds = 60): Promise<void> {
  const logger = pino({ level: "info" }, { write: (line: string) => void logLines.push(line) });
  await env.restart({ gitlabAgentTokens: agentTokenOptions(ttlSeconds), logger, agentTokenLeaseSeconds: 45 });
}

const tokenRecord = (tokenId: number) =>
  env.db
    .selectFrom("authz.agent_tokens")
    .select(["status", "lease_expires_at", "lapsed_at"])
    .where("id", "=", tokenId)
    .executeTakeFirstOrThrow();

function mirror(agent: SimAgent): Promise<void> {
  return mirrorSimulatedAgent(gitlab.state, agent, (name, request) => env.command(name, request));
}

const agentInfoCalls = () =>
  gitlab.requestLog.filter((entry) => entry.path === "/api/v4/internal/kubernetes/agent_info").length;

beforeAll(async () => {
  gitlab = await startGitLabSimulator({ kasSecret });
  // GitLab's first user holds namespace 1, as authz's bootstrap admin does in this registry.
  gitlab.addUser({ username: "root", is_admin: true });
  const group = gitlab.addGroup({ path: "operators" });
  const project = gitlab.addProject({ path: "agent-project", namespace_id: group.id });
  mirrored = gitlab.addAgent(project.id, "prod");
  unmirrored = gitlab.addAgent(project.id, "staging");
  // Mirrored with the others: the file's standalone projects would take its ids in authz.
  moving = gitlab.addAgent(
    gitlab.addProject({ path: "moving-project", namespace_id: group.id }).id,
    "moving",
  );
  await mirror(mirrored);
  await mirror(moving);
  await restartAuthz();
});
afterAll(() => gitlab.close());

describe("GitLab agent tokens verified by GitLab (KAS secret)", () => {
  it("accepts the agent's own GitLab token and records only its digest", async () => {
    const { token } = gitlab.issueAgentToken(mirrored.id);
    const { result } = await env.command("agent_token.authenticate", { token });
    expect(result).toMatchObject({
      agent_id: mirrored.id,
      project_id: mirrored.project_id,
      token_kind: "agent",
    });

    const recorded = await agentTokenRow(env.db, result.token_id);
    expect(recorded).toMatchObject({
      agent_id: mirrored.id,
      kind: "agent",
      status: "active",
      token_sha256: digestToken(token),
      created_by_user_id: null,
    });
    expect(JSON.stringify(recorded)).not.toContain(token);
    // A second authentication answers the same record.
    expect((await env.command("agent_token.authenticate", { token })).result.token_id).toBe(result.token_id);
  });

  it("refuses a token GitLab does not know, and one of an agent that is not mirrored", async () => {
    expect((await env.refusal("agent_token.authenticate", { token: "glagent-not-a-real-one" })).code).toBe(
      "unauthorized",
    );
    const { token } = gitlab.issueAgentToken(unmirrored.id);
    expect((await env.refusal("agent_token.authenticate", { token })).code).toBe("unauthorized");
  });

  it("asks GitLab once about a bogus token presented again and again (its refusal is cached)", async () => {
    const token = `glagent-${randomBytes(24).toString("hex")}`;
    const before = agentInfoCalls();
    for (let i = 0; i < 3; i++) {
      expect((await env.refusal("agent_token.authenticate", { token })).code).toBe("unauthorized");
    }
    expect(agentInfoCalls()).toBe(before + 1);
  });

  it("a token revoked in GitLab: accepted while GitLab's yes is cached, refused once it is not, its record revoked", async () => {
    const { id, token } = gitlab.issueAgentToken(mirrored.id);
    const { result } = await env.command("agent_token.authenticate", { token });
    gitlab.revokeAgentToken(mirrored.id, id);
    expect((await env.command("agent_token.authenticate", { token })).result.agent_id).toBe(mirrored.id);

    await restartAuthz();
    expect((await env.refusal("agent_token.authenticate", { token })).code).toBe("unauthorized");
    const recorded = await env.db
      .selectFrom("authz.agent_tokens")
      .select("status")
      .where("id", "=", result.token_id)
      .executeTakeFirstOrThrow();
    expect(recorded.status).toBe("revoked");
  });

  it("GitLab unreachable: refused (fail closed), logged without the token", async () => {
    const { token } = gitlab.issueAgentToken(mirrored.id);
    await restartAuthz();
    await gitlab.setDown(true);
    try {
      const refusal = await env.refusal("agent_token.authenticate", { token });
      expect(refusal.code).toBe("unavailable");
    } finally {
      await gitlab.setDown(false);
    }
    const logged = logLines.join("\n");
    expect(logged).toContain("GitLab could not verify an agent token: refused (fail closed)");
    expect(logged).not.toContain(token);
    // Back up, the same token is accepted.
    expect((await env.command("agent_token.authenticate", { token })).result.agent_id).toBe(mirrored.id);
  });

  it("leaves Kasmap's own agent tokens of its own agents to its registry: GitLab is not asked", async () => {
    const registered = await env.registerAgent();
    const minted = await env.command("agent_token.create", {
      actor_user_id: registered.actor_user_id,
      project_id: registered.project_id,
      agent_id: registered.agent_id,
      name: "standalone",
    });
    const before = agentInfoCalls();
    const { result } = await env.command("agent_token.authenticate", { token: minted.result.plaintext });
    expect(result.agent_id).toBe(registered.agent_id);
    expect(agentInfoCalls()).toBe(before);
    // Kasmap's own token: a lease of KASMAP_AGENT_TOKEN_LEASE_SECONDS (45 here), no record of it.
    const leaseMs = Date.parse(result.lease_expires_at ?? "") - Date.now();
    expect(leaseMs).toBeGreaterThan(30_000);
    expect(leaseMs).toBeLessThanOrEqual(45_000);
    expect((await tokenRecord(result.token_id)).lease_expires_at).toBeNull();
  });

  it("an agent removed from the mirror and put back: its GitLab token is refused while it is away, accepted again after", async () => {
    const { token } = gitlab.issueAgentToken(moving.id);
    const first = (await env.command("agent_token.authenticate", { token })).result;

    // The agent alone left the mirror (a sweep missed it in GitLab's listing): deleted here, its
    // row kept; GitLab keeps the token. (A removed project takes its agents' rows and token
    // records along: GitLab's next yes records the token anew.)
    await env.command("mirror.remove", { kind: "agent", id: moving.id });
    expect((await tokenRecord(first.token_id)).status).toBe("revoked");
    expect((await env.refusal("agent_token.authenticate", { token })).code).toBe("unauthorized");

    // Back in the mirror: GitLab's yes makes the same record active again (once the refusal
    // above is no longer cached: a fresh process, as after its 10 s).
    await mirror(moving);
    await restartAuthz();
    const again = (await env.command("agent_token.authenticate", { token })).result;
    expect(again).toMatchObject({ agent_id: moving.id, token_id: first.token_id });
    expect(await tokenRecord(first.token_id)).toMatchObject({ status: "active", lapsed_at: null });
  });
});

describe("the re-authentication lease of GitLab agent tokens (issue 9)", () => {
  afterAll(() => restartAuthz());

  it("lasts GitLab's yes + the TTL; a record not confirmed within it is revoked, and GitLab's next yes revives it", async () => {
    await restartAuthz(2);
    const { token } = gitlab.issueAgentToken(mirrored.id);
    const { result } = await env.command("agent_token.authenticate", { token });
    const leaseMs = Date.parse(result.lease_expires_at ?? "") - Date.now();
    expect(leaseMs).toBeGreaterThan(0);
    expect(leaseMs).toBeLessThanOrEqual(2_000);
    expect((await tokenRecord(result.token_id)).lease_expires_at?.toISOString()).toBe(
      result.lease_expires_at,
    );

    // Nobody presents the token again (its collector stopped): the sweep revokes the record.
    const lapsed = await eventually(async () => {
      const record = await tokenRecord(result.token_id);
      return record.status === "revoked" ? record : undefined;
    }, "the lapse sweep to revoke the record");
    expect(lapsed.lapsed_at).not.toBeNull();
    expect(logLines.join("\n")).toContain("not re-verified with GitLab within its lease");

    // The collector comes back with a token GitLab still accepts: the same record, active again.
    const again = await env.command("agent_token.authenticate", { token });
    expect(again.result.token_id).toBe(result.token_id);
    expect(await tokenRecord(result.token_id)).toMatchObject({ status: "active", lapsed_at: null });
    expect(logLines.join("\n")).not.toContain(token);
  });

  it("revoked in GitLab: refused once GitLab's yes is half a TTL old, and the record stays revoked", async () => {
    await restartAuthz(2);
    const { id, token } = gitlab.issueAgentToken(mirrored.id);
    const { result } = await env.command("agent_token.authenticate", { token });
    gitlab.revokeAgentToken(mirrored.id, id);
    // A renewal within the first half of the TTL is answered from GitLab's yes; the next asks GitLab.
    const refusal = await eventually(async () => {
      const answer = await env.refusal("agent_token.authenticate", { token }).catch(() => undefined);
      return answer?.code === "unauthorized" ? answer : undefined;
    }, "the renewal refused");
    expect(refusal.code).toBe("unauthorized");
    expect(await tokenRecord(result.token_id)).toMatchObject({ status: "revoked", lapsed_at: null });
    expect(logLines.join("\n")).toContain("GitLab refused an agent token it had accepted");
    // Not revived by the sweep or by anything else: still refused.
    expect((await env.refusal("agent_token.authenticate", { token })).code).toBe("unauthorized");
  });
});
