import { randomBytes } from "node:crypto";
import { createLogger } from "@kasmap/logging";
import { type GitLabSimulator, type SimAgent, startGitLabSimulator } from "@kasmap/testing/gitlab-simulator";
import { eventually } from "@kasmap/testing/harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGitLabAgentTokenVerifier } from "./gitlab-agent-token-verifier.ts";

/** The verifier's cache against the GitLab simulator: yeses only, keyed by digest, bounded. */
const kasSecret = randomBytes(32);
let gitlab: GitLabSimulator;
let agent: SimAgent;

beforeAll(async () => {
  gitlab = await startGitLabSimulator({ kasSecret });
  const group = gitlab.addGroup({ path: "verifier" });
  const project = gitlab.addProject({ path: "agent-project", namespace_id: group.id });
  agent = gitlab.addAgent(project.id, "prod");
});
afterAll(() => gitlab.close());

const agentInfoCalls = () =>
  gitlab.requestLog.filter((entry) => entry.path === "/api/v4/internal/kubernetes/agent_info").length;

function verifier(maxCachedTokens: number, ttlSeconds = 600) {
  return createGitLabAgentTokenVerifier(
    { gitlabUrl: gitlab.url, kasSecret, ttlSeconds, timeoutMs: 2_000, maxCachedTokens },
    createLogger("authz-test", "silent"),
  );
}

describe("the GitLab agent token verifier", () => {
  it("asks GitLab once per token while its yes is cached, and again once it was pushed out", async () => {
    const check = verifier(1);
    const first = gitlab.issueAgentToken(agent.id).token;
    const second = gitlab.issueAgentToken(agent.id).token;
    const before = agentInfoCalls();
    const asked = Date.now();
    const verdict = await check.verdictOf(first);
    expect(verdict).toMatchObject({ kind: "agent", agentId: agent.id, projectId: agent.project_id });
    // The lease GitLab's yes gives: at most the TTL from when GitLab was asked.
    const until = verdict.kind === "agent" ? verdict.verifiedUntil.getTime() : 0;
    expect(until).toBeGreaterThan(asked);
    expect(until).toBeLessThanOrEqual(Date.now() + 600_000);
    await check.verdictOf(first);
    expect(agentInfoCalls() - before).toBe(1);
    await check.verdictOf(second);
    await check.verdictOf(first);
    expect(agentInfoCalls() - before).toBe(3);
  });

  it("asks again once the kept yes is past half its TTL; GitLab down then, the kept yes holds until its TTL ends", async () => {
    const check = verifier(10, 2);
    const { token } = gitlab.issueAgentToken(agent.id);
    const first = await check.verdictOf(token);
    if (first.kind !== "agent") throw new Error("GitLab refused a token it issued");
    const before = agentInfoCalls();
    // Past half the TTL, a renewal asks GitLab again and gets a longer lease.
    const renewed = await eventually(async () => {
      const verdict = await check.verdictOf(token);
      return verdict.kind === "agent" && verdict.verifiedUntil > first.verifiedUntil ? verdict : undefined;
    }, "a renewal answered by GitLab again");
    expect(agentInfoCalls()).toBeGreaterThan(before);
    if (renewed.kind !== "agent") throw new Error("unreachable");

    await gitlab.setDown(true);
    try {
      const answered: Date[] = [];
      const refusal = await eventually(async () => {
        try {
          const verdict = await check.verdictOf(token);
          if (verdict.kind === "agent") answered.push(verdict.verifiedUntil);
          return undefined;
        } catch (error) {
          return { error, at: Date.now() };
        }
      }, "the kept yes to run out with GitLab down");
      expect((refusal.error as { code?: string }).code).toBe("unavailable");
      // Never a lease beyond GitLab's last yes + TTL, and refused only once that has passed.
      expect(answered.every((until) => until.getTime() === renewed.verifiedUntil.getTime())).toBe(true);
      expect(refusal.at).toBeGreaterThanOrEqual(renewed.verifiedUntil.getTime());
    } finally {
      await gitlab.setDown(false);
    }
  });

  it("does not keep refusals: a token GitLab refused is asked about again", async () => {
    const check = verifier(10);
    const before = agentInfoCalls();
    expect(await check.verdictOf("glagent-unknown")).toEqual({ kind: "refused" });
    expect(await check.verdictOf("glagent-unknown")).toEqual({ kind: "refused" });
    expect(agentInfoCalls() - before).toBe(2);
  });

  it("refuses to start towards a GitLab over plain http that is not loopback", () => {
    expect(() =>
      createGitLabAgentTokenVerifier(
        { gitlabUrl: "http://gitlab.example.com", kasSecret, ttlSeconds: 60, timeoutMs: 1_000 },
        createLogger("authz-test", "silent"),
      ),
    ).toThrow(/only over TLS/);
  });
});
