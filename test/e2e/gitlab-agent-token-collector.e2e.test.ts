import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { KubeSimulator } from "@kasmap/kube-simulator";
import { type GitLabSimulator, startGitLabSimulator } from "@kasmap/testing/gitlab-simulator";
import { eventually } from "@kasmap/testing/harness";
import { type KasmapSystem, startKasmapSystem } from "@kasmap/testing/system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnCollectorProgram, startDemoKubeCluster, stopCollectorsThenClose } from "./collector-program.ts";

/**
 * Issue 9 item 5's optional part: with GitLab's KAS secret, a collector presents its agent's own
 * GitLab agent token (no collector token minted); authz asks GitLab's internal `agent_info` API,
 * and the collector's snapshot reaches the read model of the mirrored agent. A token GitLab does
 * not know stops the collector at start.
 */
const MAINTAINER = 40;
const kasSecret = randomBytes(32);

let gitlab: GitLabSimulator;
let kube: KubeSimulator;
let kubeconfig: string;
let system: KasmapSystem;
const collectors: ChildProcess[] = [];
const ids = { project: 0, agent: 0 };
let maintainerToken: string;

beforeAll(async () => {
  ({ simulator: kube, kubeconfig } = await startDemoKubeCluster());

  gitlab = await startGitLabSimulator({ kasSecret });
  const admin = gitlab.addUser({ username: "root", is_admin: true });
  const operators = gitlab.addGroup({ path: "operators", name: "Operators" });
  ids.project = gitlab.addProject({
    path: "agent-project",
    name: "Agent-Project",
    namespace_id: operators.id,
  }).id;
  ids.agent = gitlab.addAgent(ids.project, "prod").id;
  const maintainer = gitlab.addUser({ username: "olivia-operator" });
  gitlab.addMember({ project_id: ids.project }, maintainer.id, MAINTAINER);
  maintainerToken = gitlab.addToken(maintainer.id);

  system = await startKasmapSystem({
    gitlab: { url: gitlab.url, token: gitlab.addToken(admin.id), reconcileSeconds: 3600 },
    // What KASMAP_GITLAB_KAS_SECRET gives authz (http to the loopback simulator is allowed).
    authz: { gitlabAgentTokens: { gitlabUrl: gitlab.url, kasSecret, ttlSeconds: 60, timeoutMs: 5_000 } },
  });
  await eventually(
    async () => {
      const response = await system.call(
        "GET",
        `/api/v4/projects/${ids.project}/cluster_agents/${ids.agent}/cluster_info`,
        maintainerToken,
      );
      return response.status === 200 ? true : undefined;
    },
    "the agent mirrored from GitLab",
    60_000,
  );
}, 120_000);

afterAll(() => stopCollectorsThenClose(collectors, system, gitlab, kube));

function startCollectorProgram(token: string) {
  const program = spawnCollectorProgram({
    token,
    kubeconfig,
    topologyRoot: system.topology.root,
    pod: { ip: "10.244.1.23", namespace: "gitlab-agent" },
    logLevel: "info",
  });
  collectors.push(program.child);
  return program;
}

describe("a collector with its agent's GitLab agent token (KAS secret)", () => {
  it("is accepted: its snapshot reaches the read model of the mirrored agent", async () => {
    const { token } = gitlab.issueAgentToken(ids.agent);
    const program = startCollectorProgram(token);
    const clusterInfo = await eventually(
      async () => {
        const response = await system.call(
          "GET",
          `/api/v4/projects/${ids.project}/cluster_agents/${ids.agent}/cluster_info`,
          maintainerToken,
        );
        const body =
          response.status === 200 ? ((await response.json()) as { node_count?: number } | null) : null;
        return body ?? undefined;
      },
      "cluster_info from the collector holding GitLab's agent token",
      // A loaded machine takes long to start the collector program (transpiled at start).
      90_000,
    );
    expect(clusterInfo).toMatchObject({ node_count: 3 });
    expect(program.output()).toContain("collector authenticated as agent");
    expect(program.output()).not.toContain(token);
  }, 120_000);

  it("is refused with a token GitLab does not know: the collector stops without publishing", async () => {
    const token = `glagent-${randomBytes(24).toString("base64url")}`;
    const program = startCollectorProgram(token);
    const code = await new Promise<number | null>((resolve) => program.child.once("exit", resolve));
    expect(code).not.toBe(0);
    expect(program.output()).toMatch(/401 Unauthorized/);
    expect(program.output()).not.toContain("collector authenticated as agent");
    expect(program.output()).not.toContain(token);
  }, 120_000);
});
