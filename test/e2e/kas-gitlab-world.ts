import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { KubeSimulator } from "@kasmap/kube-simulator";
import { type GitLabSimulator, startGitLabSimulator } from "@kasmap/testing/gitlab-simulator";
import { eventually } from "@kasmap/testing/harness";
import { type KasmapSystem, startKasmapSystem } from "@kasmap/testing/system";
import {
  type CollectorProgramOptions,
  spawnCollectorProgram,
  startDemoKubeCluster,
  stopCollectorsThenClose,
} from "./collector-program.ts";

const MAINTAINER = 40;

/**
 * Test-only: Kasmap in GitLab mode with GitLab's KAS secret (issue 9 item 5), beside the GitLab
 * simulator holding operators/agent-project with agent `prod` and a Maintainer of it, and the
 * demo Kubernetes cluster a collector program reports from. Resolves once the agent is mirrored.
 */
export type KasGitLabWorld = {
  gitlab: GitLabSimulator;
  system: KasmapSystem;
  ids: { project: number; agent: number };
  maintainerToken: string;
  /** The status of `GET …/cluster_agents/<agent>/cluster_info` for the Maintainer. */
  clusterInfoStatus(): Promise<number>;
  /** A collector program with `token` against the demo cluster (stopped by `close`). */
  startCollectorProgram(
    token: string,
    options?: Partial<Omit<CollectorProgramOptions, "token" | "kubeconfig" | "topologyRoot">>,
  ): ReturnType<typeof spawnCollectorProgram>;
  close(): Promise<void>;
};

/** `ttlSeconds`: `KASMAP_GITLAB_PERMISSION_TTL_SECONDS` for agent tokens; `leaseSeconds`: Kasmap's own tokens'. */
export async function startKasGitLabWorld(
  options: { ttlSeconds?: number; leaseSeconds?: number } = {},
): Promise<KasGitLabWorld> {
  const kasSecret = randomBytes(32);
  const { simulator: kube, kubeconfig }: { simulator: KubeSimulator; kubeconfig: string } =
    await startDemoKubeCluster();
  const gitlab = await startGitLabSimulator({ kasSecret });
  const admin = gitlab.addUser({ username: "root", is_admin: true });
  const operators = gitlab.addGroup({ path: "operators", name: "Operators" });
  const project = gitlab.addProject({
    path: "agent-project",
    name: "Agent-Project",
    namespace_id: operators.id,
  });
  const ids = { project: project.id, agent: gitlab.addAgent(project.id, "prod").id };
  const maintainer = gitlab.addUser({ username: "olivia-operator" });
  gitlab.addMember({ project_id: ids.project }, maintainer.id, MAINTAINER);
  const maintainerToken = gitlab.addToken(maintainer.id);

  const system = await startKasmapSystem({
    gitlab: { url: gitlab.url, token: gitlab.addToken(admin.id), reconcileSeconds: 3600 },
    // What KASMAP_GITLAB_KAS_SECRET gives authz (http to the loopback simulator is allowed).
    authz: {
      gitlabAgentTokens: {
        gitlabUrl: gitlab.url,
        kasSecret,
        ttlSeconds: options.ttlSeconds ?? 60,
        timeoutMs: 5_000,
      },
      ...(options.leaseSeconds ? { agentTokenLeaseSeconds: options.leaseSeconds } : {}),
    },
  });
  const collectors: ChildProcess[] = [];
  async function clusterInfoStatus(): Promise<number> {
    const response = await system.call(
      "GET",
      `/api/v4/projects/${ids.project}/cluster_agents/${ids.agent}/cluster_info`,
      maintainerToken,
    );
    await response.body?.cancel();
    return response.status;
  }
  await eventually(
    async () => ((await clusterInfoStatus()) === 200 ? true : undefined),
    "the agent mirrored from GitLab",
    60_000,
  );
  return {
    gitlab,
    system,
    ids,
    maintainerToken,
    clusterInfoStatus,
    startCollectorProgram(token, more = {}) {
      const program = spawnCollectorProgram({
        pod: { ip: "10.244.1.23", namespace: "gitlab-agent" },
        logLevel: "info",
        ...more,
        token,
        kubeconfig,
        topologyRoot: system.topology.root,
      });
      collectors.push(program.child);
      return program;
    },
    close: () => stopCollectorsThenClose(collectors, system, gitlab, kube),
  };
}
