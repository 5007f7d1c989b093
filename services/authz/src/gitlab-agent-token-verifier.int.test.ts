import { randomBytes } from "node:crypto";
import { createLogger } from "@kasmap/logging";
import { type GitLabSimulator, type SimAgent, startGitLabSimulator } from "@kasmap/testing/gitlab-simulator";
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

function verifier(maxCachedTokens: number) {
  return createGitLabAgentTokenVerifier(
    { gitlabUrl: gitlab.url, kasSecret, ttlSeconds: 600, timeoutMs: 2_000, maxCachedTokens },
    createLogger("authz-test", "silent"),
  );
}

describe("the GitLab agent token verifier", () => {
  it("asks GitLab once per token while its yes is cached, and again once it was pushed out", async () => {
    const check = verifier(1);
    const first = gitlab.issueAgentToken(agent.id).token;
    const second = gitlab.issueAgentToken(agent.id).token;
    const before = agentInfoCalls();
    expect(await check.verdictOf(first)).toEqual({
      kind: "agent",
      agentId: agent.id,
      projectId: agent.project_id,
    });
    await check.verdictOf(first);
    expect(agentInfoCalls() - before).toBe(1);
    await check.verdictOf(second);
    await check.verdictOf(first);
    expect(agentInfoCalls() - before).toBe(3);
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
