import type { ChildProcess } from "node:child_process";
import type { KubeSimulator } from "@kasmap/kube-simulator";
import { eventually } from "@kasmap/testing/harness";
import type { KasmapSystem } from "@kasmap/testing/system";
import { spawnCollectorProgram, startDemoKubeCluster } from "./collector-program.ts";
import { agentWithToken, groupWithProject, userWithToken } from "./registry-through-api.ts";

/**
 * What the console's end-to-end test and its screenshots look at: the demo cluster (the
 * Kubernetes simulator) watched by a real collector program for `platform/clusters:demo-agent`,
 * a developer of `platform` and of `edge` (`edge/sites:edge-agent`, never connected), an
 * outsider who may see nothing of them, and `vault/secrets:vault-agent`, which neither may see.
 */
export type ConsoleDemo = {
  simulator: KubeSimulator;
  collector: ChildProcess;
  projectId: number;
  agentId: number;
  developerToken: string;
  outsiderToken: string;
};

/** Builds the demo through the REST API and waits until the collector's first snapshot is projected. */
export async function seedConsoleDemo(system: KasmapSystem): Promise<ConsoleDemo> {
  const { simulator, kubeconfig } = await startDemoKubeCluster();
  const { groupId, projectId } = await groupWithProject(system, system.adminToken, {
    group: "Platform",
    project: "clusters",
  });
  const { agentId, agentToken } = await agentWithToken(system, projectId, "demo-agent");
  const developer = await userWithToken(system, system.adminToken, "dev");
  const outsider = await userWithToken(system, system.adminToken, "outsider");
  const member = await system.api("POST", `/groups/${groupId}/members`, {
    user_id: developer.userId,
    access_level: 30,
  });
  if (member.status !== 201) throw new Error(`adding the developer answered ${member.status}`);
  const edge = await groupWithProject(system, system.adminToken, { group: "Edge", project: "sites" });
  await agentWithToken(system, edge.projectId, "edge-agent");
  const edgeMember = await system.api("POST", `/groups/${edge.groupId}/members`, {
    user_id: developer.userId,
    access_level: 30,
  });
  if (edgeMember.status !== 201)
    throw new Error(`adding the developer to edge answered ${edgeMember.status}`);
  const vault = await groupWithProject(system, system.adminToken, { group: "Vault", project: "secrets" });
  await agentWithToken(system, vault.projectId, "vault-agent");
  const program = spawnCollectorProgram({
    token: agentToken,
    kubeconfig,
    topologyRoot: system.topology.root,
    pod: { ip: "10.244.1.17", namespace: "gitlab-agent", name: "agentk-0", node: "k8s-worker-1" },
    logLevel: "warn",
  });
  // A loaded machine starts a Node program slowly: the first snapshot may take a while.
  await eventually(
    async () => {
      const answer = await system.api("GET", `/projects/${projectId}/cluster_agents/${agentId}/cluster_info`);
      return answer.status === 200 && answer.body ? answer.body : undefined;
    },
    "cluster_info from the collector",
    90_000,
  ).catch((error: unknown) => {
    program.child.kill("SIGTERM");
    throw new Error(`${String(error)}; the collector said: ${program.output()}`);
  });
  return {
    simulator,
    collector: program.child,
    projectId,
    agentId,
    developerToken: developer.token,
    outsiderToken: outsider.token,
  };
}
