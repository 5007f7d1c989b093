/**
 * The GitLab simulator in a process of its own, for benches that put Kasmap in front of it: a
 * GitLab and the Kasmap beside it never share an event loop. Holds one group, project and agent
 * and a developer with a personal access token; prints them as one JSON line on stdout and runs
 * until its stdin closes (the bench ending, or dying, ends it).
 *
 * Run by `startSimulatorProcess()`; standalone: npx tsx bench/support/gitlab-simulator-process.ts
 */
import { fileURLToPath, pathToFileURL } from "node:url";
import { startGitLabSimulator } from "@kasmap/testing/gitlab-simulator";
import { startBenchProcess, untilStdinCloses } from "./bench-process.ts";

export type SimulatedGitLab = {
  url: string;
  apiUrl: string;
  groupId: number;
  projectId: number;
  agentId: number;
  /** The developer's personal access token. */
  token: string;
};

const DEVELOPER = 30;

export async function startSimulatorProcess(): Promise<
  SimulatedGitLab & { pid: number; stop(): Promise<void> }
> {
  const child = await startBenchProcess<SimulatedGitLab>(fileURLToPath(import.meta.url));
  return { ...child.info, pid: child.pid, stop: child.stop };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const sim = await startGitLabSimulator();
  const group = sim.addGroup({ path: "bench" });
  const project = sim.addProject({ path: "infra", namespace_id: group.id });
  const agent = sim.addAgent(project.id, "bench-agent");
  const developer = sim.addUser({ username: "bench-developer" });
  sim.addMember({ project_id: project.id }, developer.id, DEVELOPER);
  const gitlab: SimulatedGitLab = {
    url: sim.url,
    apiUrl: sim.apiUrl,
    groupId: group.id,
    projectId: project.id,
    agentId: agent.id,
    token: sim.addToken(developer.id),
  };
  process.stdout.write(`${JSON.stringify(gitlab)}\n`);
  await untilStdinCloses();
  await sim.close();
  process.exit(0);
}
