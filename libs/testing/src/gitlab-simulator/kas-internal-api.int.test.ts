import { randomBytes } from "node:crypto";
import { createGitLabClient, GitLabApiError, readAgentInfo } from "@kasmap/gitlab-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GitLabSimulator, startGitLabSimulator } from "./index.ts";

const kasSecret = randomBytes(32);
let gitlab: GitLabSimulator;
let client: ReturnType<typeof createGitLabClient>;

beforeAll(async () => {
  gitlab = await startGitLabSimulator({ kasSecret });
  client = createGitLabClient({ baseUrl: gitlab.url, timeoutMs: 5_000, maxRetries: 0 });
});
afterAll(() => gitlab.close());

function agentOnNewProject(path: string) {
  const group = gitlab.addGroup({ path: `${path}-group` });
  const project = gitlab.addProject({ path, namespace_id: group.id });
  return { project, agent: gitlab.addAgent(project.id, `${path}-agent`) };
}

async function refusal(promise: Promise<unknown>): Promise<{ kind: string; status: number | null }> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  if (!(error instanceof GitLabApiError)) throw new Error(`expected a GitLabApiError, got ${String(error)}`);
  return { kind: error.kind, status: error.status };
}

describe("the simulator's internal agent_info route (KAS's)", () => {
  it("names the agent of a token GitLab issued, for a KAS JWT signed with the secret", async () => {
    const { project, agent } = agentOnNewProject("kas-info");
    const { token } = gitlab.issueAgentToken(agent.id);
    const info = await readAgentInfo(client, token, kasSecret);
    expect(info).toMatchObject({
      project_id: project.id,
      agent_id: agent.id,
      agent_name: agent.name,
      default_branch: "main",
    });
    expect(info).toHaveProperty("gitaly_repository");
  });

  it("refuses a JWT signed with another secret, and an expired one", async () => {
    const { agent } = agentOnNewProject("kas-jwt");
    const { token } = gitlab.issueAgentToken(agent.id);
    expect(await refusal(readAgentInfo(client, token, randomBytes(32)))).toEqual({
      kind: "unauthorized",
      status: 401,
    });
    const anHourAgo = Date.now() - 3_600_000;
    expect(await refusal(readAgentInfo(client, token, kasSecret, anHourAgo))).toEqual({
      kind: "unauthorized",
      status: 401,
    });
  });

  it("refuses an unknown token, a revoked one and one of a removed agent", async () => {
    const { agent } = agentOnNewProject("kas-revoke");
    const first = gitlab.issueAgentToken(agent.id);
    const second = gitlab.issueAgentToken(agent.id);
    expect(await refusal(readAgentInfo(client, "glagent-unknown", kasSecret))).toMatchObject({ status: 401 });
    gitlab.revokeAgentToken(agent.id, first.id);
    expect(await refusal(readAgentInfo(client, first.token, kasSecret))).toMatchObject({ status: 401 });
    expect((await readAgentInfo(client, second.token, kasSecret)).agent_id).toBe(agent.id);
    gitlab.removeAgent(agent.id);
    expect(await refusal(readAgentInfo(client, second.token, kasSecret))).toMatchObject({ status: 401 });
  });

  it("logs the request without the token", async () => {
    const { agent } = agentOnNewProject("kas-log");
    const { token } = gitlab.issueAgentToken(agent.id);
    await readAgentInfo(client, token, kasSecret);
    const logged = gitlab.requestLog.filter(
      (entry) => entry.path === "/api/v4/internal/kubernetes/agent_info",
    );
    expect(logged.length).toBeGreaterThan(0);
    expect(JSON.stringify(gitlab.requestLog)).not.toContain(token);
  });
});
