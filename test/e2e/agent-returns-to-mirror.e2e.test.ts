import { DEAD_LETTER_HEADERS, publishEvent } from "@kasmap/bus";
import type { ClusterInfo, ProjectAllowedAgent } from "@kasmap/contracts";
import { buildClusterFacts, readDeadLetters, testEvents } from "@kasmap/testing";
import {
  addAgentProjectHierarchy,
  type GitLabSimulator,
  startGitLabSimulator,
} from "@kasmap/testing/gitlab-simulator";
import { eventually } from "@kasmap/testing/harness";
import { type KasmapSystem, startKasmapSystem } from "@kasmap/testing/system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Commit e25d639, end to end in GitLab mode: an agent whose project leaves the mirrored root
 * group and comes back gets its grants and its collector back. Before it, the projection's
 * tombstone (`read_model.deleted_agents`) outlived the return: the agent's later grant sets were
 * discarded and its collector's events dead-lettered for good.
 *
 * GitLab (the simulator) holds Root-Group/Operators/Agent-Project with the agent `prod`, whose
 * config grants `ci_access` to Root-Group/Developers/Feature-Project, and the root group
 * Elsewhere, which Kasmap does not mirror (`KASMAP_GITLAB_ROOT_GROUPS=root-group`). The project
 * moves by GitLab's transfer; GitLab's `project_transfer` system hook reaches the gateway's hook
 * route, and the sync service mirrors (or removes) what it names. The collector is stood in for
 * by events published on the agent's NATS subjects, as a collector holding the agent's NATS
 * credentials publishes them; the projection applies them only while the agent has a token.
 */
const HOOK_SECRET = "e2e-agent-returns-hook-secret";
const MAINTAINER = 40;

let gitlab: GitLabSimulator;
let system: KasmapSystem;
const ids = { root: 0, operators: 0, elsewhere: 0, agentProject: 0, featureProject: 0, agent: 0 };
/** A Maintainer of Root-Group (so of both projects while they are in it), not of Elsewhere. */
let maintainerToken: string;
let agentPath: string;

beforeAll(async () => {
  gitlab = await startGitLabSimulator();
  const admin = gitlab.addUser({ username: "root", is_admin: true });
  const { root, operators, agentProject, featureProject } = addAgentProjectHierarchy(gitlab);
  const elsewhere = gitlab.addGroup({ path: "elsewhere", name: "Elsewhere" });
  Object.assign(ids, {
    root: root.id,
    operators: operators.id,
    elsewhere: elsewhere.id,
    agentProject: agentProject.id,
    featureProject: featureProject.id,
  });
  const maintainer = gitlab.addUser({ username: "olivia-operator" });
  gitlab.addMember({ group_id: root.id }, maintainer.id, MAINTAINER);
  maintainerToken = gitlab.addToken(maintainer.id);
  ids.agent = gitlab.addAgent(ids.agentProject, "prod").id;
  gitlab.setFile(
    ids.agentProject,
    ".gitlab/agents/prod/config.yaml",
    "ci_access:\n  projects:\n    - id: root-group/developers/feature-project\n",
  );
  agentPath = `/projects/${ids.agentProject}/cluster_agents/${ids.agent}`;

  system = await startKasmapSystem({
    gitlab: {
      url: gitlab.url,
      token: gitlab.addToken(admin.id),
      rootGroups: ["root-group"],
      hookSecret: HOOK_SECRET,
      // Only the reconcile at start: every later change comes by hook.
      reconcileSeconds: 3600,
    },
  });
  gitlab.addSystemHook(`${system.gatewayUrl}/api/v4/-/gitlab/hooks`, HOOK_SECRET);
}, 120_000);

afterAll(async () => {
  await system?.stop();
  await gitlab?.close();
});

/** `GET /projects/:id/allowed_agents` (Kasmap's read model, with the granting rule). */
async function allowedAgents(projectId: number): Promise<ProjectAllowedAgent[]> {
  const response = await system.api(
    "GET",
    `/projects/${projectId}/allowed_agents`,
    undefined,
    maintainerToken,
  );
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return (response.body as { allowed_agents: ProjectAllowedAgent[] }).allowed_agents;
}

/** The agents of Root-Group's subtree (`GET /groups/:id/cluster_agents`, Kasmap's read model). */
async function agentsUnderRootGroup(): Promise<number[]> {
  const response = await system.api(
    "GET",
    `/groups/${ids.root}/cluster_agents?include_subgroups=true`,
    undefined,
    maintainerToken,
  );
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return (response.body as unknown as Array<{ id: number }>).map((agent) => agent.id);
}

/**
 * The gateway's answers from the read model about the agent — Feature-Project's allowed agents
 * and Root-Group's agents — once both show it (`present`) or neither does (`absent`): the
 * projection applies the registry and the grants from two streams, each at its own pace.
 */
function readModelAnswers(what: string, wanted: "present" | "absent", timeoutMs?: number) {
  return eventually(
    async () => {
      const answers = {
        granted: await allowedAgents(ids.featureProject),
        listed: await agentsUnderRootGroup(),
      };
      const shown = [answers.granted.length > 0, answers.listed.length > 0];
      if (shown.every((agentShown) => agentShown === (wanted === "present"))) return answers;
      // Kept by `eventually` as the cause of its time-out: what the gateway answered last.
      throw new Error(`still: ${JSON.stringify({ ...answers, granted: answers.granted.map((a) => a.id) })}`);
    },
    what,
    timeoutMs,
  );
}

/** The agent's `cluster_info` through the gateway: null before any snapshot, undefined if no 200. */
async function clusterInfo(): Promise<ClusterInfo | null | undefined> {
  const response = await system.call("GET", `/api/v4${agentPath}/cluster_info`, maintainerToken);
  return response.status === 200 ? ((await response.json()) as ClusterInfo | null) : undefined;
}

/** The agents the reverse lookup finds at `ip` (`GET /clusters/lookup`, Kasmap's read model). */
async function agentsAt(ip: string): Promise<number[]> {
  const response = await system.api("GET", `/clusters/lookup?ip=${ip}`, undefined, maintainerToken);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return (response.body as unknown as Array<{ agent: { id: number } }>).map((entry) => entry.agent.id);
}

/** A collector token minted through Kasmap by the Maintainer: the agent's token in the read model. */
async function mintCollectorToken(name: string): Promise<void> {
  const minted = await system.api("POST", `${agentPath}/collector_tokens`, { name }, maintainerToken);
  expect(minted.status, JSON.stringify(minted.body)).toBe(201);
}

/**
 * What a collector of the agent reports (a snapshot whose only node has `nodeIp`, and a
 * heartbeat), published on the agent's subjects; resolves with the agent's `cluster_info` once it
 * shows that node, or with the reason the projection dead-lettered one of them for.
 */
async function reportCluster(nodeIp: string): Promise<{ info?: ClusterInfo; refused?: string }> {
  const now = new Date().toISOString();
  const events = testEvents(system.topology);
  const facts = buildClusterFacts({ node_ips: { external: [], internal: [nodeIp] }, observed_at: now });
  const lettersBefore = await lastDeadLetterSeq();
  await publishEvent(system.bus, events.snapshot(ids.agent, facts));
  await publishEvent(system.bus, events.heartbeat(ids.agent, now));
  return eventually(async () => {
    const info = await clusterInfo();
    if (info?.node_ips.internal.includes(nodeIp) && info.deployment_status === "connected") return { info };
    const refused = (await readDeadLetters(system.bus, lettersBefore + 1))
      .map((letter) => letter.header.get(DEAD_LETTER_HEADERS.reason) ?? "")
      .find((reason) => reason.includes(`agent ${ids.agent} `));
    return refused === undefined ? undefined : { refused };
  }, `the collector's report of ${nodeIp} applied or dead-lettered`);
}

async function lastDeadLetterSeq(): Promise<number> {
  return (await system.bus.jsm.streams.info(system.topology.streamNames.deadLetter)).state.last_seq;
}

/** Moves Agent-Project in GitLab; GitLab's `project_transfer` system hook tells Kasmap. */
async function transferAgentProject(namespaceId: number): Promise<void> {
  gitlab.transferProject(ids.agentProject, namespaceId);
  await gitlab.flushHooks();
  const transfers = gitlab.hookDeliveries.filter((delivery) => delivery.event === "project_transfer");
  expect(transfers.at(-1)?.status).toBe(200);
}

const grantToFeatureProject = () => [expect.objectContaining({ id: ids.agent, rule: "explicit_project" })];

describe("GitLab mode: an agent whose project leaves the mirrored root group and comes back", () => {
  it("gets its grant and its collector back", async () => {
    // 1. Mirrored by the reconcile at start: the agent, its grant, its collector's report.
    const mirrored = await readModelAnswers("the agent and its grant mirrored at start", "present", 60_000);
    expect(mirrored).toEqual({ granted: grantToFeatureProject(), listed: [ids.agent] });
    await mintCollectorToken("before-the-move");
    expect(await reportCluster("10.0.1.1")).toEqual({
      info: expect.objectContaining({ deployment_status: "connected" }),
    });
    expect(await agentsAt("10.0.0.1")).toEqual([ids.agent]);

    // 2. Agent-Project moves to Elsewhere, outside the mirror: the project and its agent are
    // removed from Kasmap, and with them the grant.
    await transferAgentProject(ids.elsewhere);
    const away = await readModelAnswers("the agent and its grant gone", "absent");
    expect(away).toEqual({ granted: [], listed: [] });

    // 3. Back into Root-Group/Operators: the agent and its grant come back.
    await transferAgentProject(ids.operators);
    const back = await readModelAnswers("the agent and its grant back", "present");
    expect(back).toEqual({ granted: grantToFeatureProject(), listed: [ids.agent] });
    // The reverse lookup finds it again by its last snapshot's addresses (its API endpoint).
    expect(await agentsAt("10.0.0.1")).toEqual([ids.agent]);

    // Its collector is the agent's again. The removal revoked its collector token and took the
    // record along (Kasmap's own tokens do not come back), so the Maintainer mints a new one. The
    // report names another node: the snapshot from before the move is still the agent's
    // cluster_info, as history, so only the new node shows that the new report was applied.
    await mintCollectorToken("after-the-return");
    expect(await reportCluster("10.0.1.2")).toEqual({
      info: expect.objectContaining({ deployment_status: "connected" }),
    });
  }, 60_000);
});
