import { publishEvent } from "@kasmap/bus";
import { type RunningGateway, startGateway } from "@kasmap/gateway-service";
import { createLogger } from "@kasmap/logging";
import type { ProjectionService } from "@kasmap/projection-service";
import { buildClusterFacts, testEvents } from "@kasmap/testing";
import {
  addAgentProjectHierarchy,
  type GitLabSimulator,
  startGitLabSimulator,
} from "@kasmap/testing/gitlab-simulator";
import { eventually } from "@kasmap/testing/harness";
import { createTestWorld, type TestWorld } from "@kasmap/testing/world";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMirroredProjection } from "./gitlab-mirror-seed.ts";
import { sendRaw } from "./raw-http.ts";

/**
 * GitLab mode decides who answers from the path the client wrote; GitLab resolves `.`/`..`
 * segments (and a URL parser on the way would too). An outsider who sees only Feature-Project
 * asked `GET /projects/<feature>/cluster_agents/..?with_cluster_info=true`: Kasmap matched agent
 * `..`, GitLab answered project <feature> itself, and Kasmap added the `cluster_info` of the
 * agent whose id is that project's id — another team's cluster. The fixture gives the secret
 * agent exactly Feature-Project's id (GitLab's project and agent ids are separate sequences).
 */

let world: TestWorld;
let sim: GitLabSimulator;
let projection: ProjectionService;
let gateway: RunningGateway;
const ids = { agentProject: 0, featureProject: 0, agent: 0, featurePath: "" };
const tokens = { maintainer: "", outsider: "" };
const SECRET_CLUSTER = "secret-prod";

beforeAll(async () => {
  world = await createTestWorld({ name: "gitlab-mode-paths" });
  sim = await startGitLabSimulator();
  const hierarchy = addAgentProjectHierarchy(sim);
  const { root, operators, developers, agentProject, featureProject } = hierarchy;
  const agents = [sim.addAgent(agentProject.id, "agent-0")];
  while ((agents.at(-1)?.id ?? 0) < featureProject.id) {
    agents.push(sim.addAgent(agentProject.id, `agent-${agents.length}`));
  }
  const agent = agents.at(-1);
  if (agent?.id !== featureProject.id) throw new Error("the fixture needs an agent with the project's id");
  Object.assign(ids, {
    agentProject: agentProject.id,
    featureProject: featureProject.id,
    agent: agent.id,
    featurePath: `${root.path}/${developers.path}/${featureProject.path}`,
  });
  const maintainer = sim.addUser({ username: "olivia-operator" });
  const outsider = sim.addUser({ username: "fiona-feature" });
  sim.addMember({ group_id: operators.id }, maintainer.id, 40);
  sim.addMember({ group_id: developers.id }, outsider.id, 40);
  Object.assign(tokens, { maintainer: sim.addToken(maintainer.id), outsider: sim.addToken(outsider.id) });
  projection = await startMirroredProjection(world, sim, hierarchy, agents);
  const facts = buildClusterFacts({ cluster_name: SECRET_CLUSTER });
  await publishEvent(world.bus, testEvents(world.topology).snapshot(agent.id, facts));
  gateway = await startGateway({
    bus: world.bus,
    databaseUrl: world.database.url,
    logger: createLogger("gateway", "silent"),
    gitlab: { url: sim.url, permissionTtlSeconds: 60, timeoutMs: 2_000 },
  });
  await eventually(async () => {
    const answer = await get(
      `/api/v4/projects/${ids.agentProject}/cluster_agents/${ids.agent}/cluster_info`,
      tokens.maintainer,
    );
    return answer.status === 200 && answer.body.includes(SECRET_CLUSTER) ? true : undefined;
  }, "the secret agent's cluster_info in the read model");
}, 90_000);

afterAll(async () => {
  await gateway?.stop();
  await projection?.stop();
  await sim?.close();
  await world?.teardown();
});

function get(target: string, token: string) {
  return sendRaw(gateway.url, {
    method: "GET",
    target,
    headers: [
      ["host", new URL(gateway.url).host],
      ["private-token", token],
    ],
  });
}

describe("GitLab mode and paths GitLab reads otherwise than Kasmap routes them", () => {
  it("refuses dot segments and backslashes with 400 before asking GitLab, so no other agent's cluster_info leaks", async () => {
    const direct = await get(
      `/api/v4/projects/${ids.agentProject}/cluster_agents/${ids.agent}?with_cluster_info=true`,
      tokens.outsider,
    );
    expect(direct.status).toBe(404);
    const asked = sim.requestLog.length;
    const feature = `/api/v4/projects/${ids.featureProject}`;
    for (const target of [
      `${feature}/cluster_agents/..?with_cluster_info=true`,
      `${feature}/cluster_agents/%2e%2E?with_cluster_info=true`,
      `${feature}/cluster_agents/.%2e?with_cluster_info=true`,
      `${feature}/cluster_agents/./../cluster_agents`,
      "/api/v4/../graphql",
      "/api/v4/%2e%2e/%2E%2E/oauth/token",
      `${feature}\\..\\..`,
      `${feature}%5C..`,
    ]) {
      const answer = await get(target, tokens.outsider);
      expect({ target, status: answer.status }).toEqual({ target, status: 400 });
      expect(JSON.parse(answer.body).message).toMatch(/^400 Bad request - the path has/);
      expect(answer.body).not.toContain(SECRET_CLUSTER);
    }
    expect(sim.requestLog.slice(asked)).toEqual([]);
  });

  it("still forwards ordinary paths, dots inside a segment and encoded slashes included", async () => {
    const agentsOfProject = await get(
      `/api/v4/projects/${ids.agentProject}/cluster_agents?with_cluster_info=true&per_page=100`,
      tokens.maintainer,
    );
    expect(agentsOfProject.status).toBe(200);
    expect(agentsOfProject.body).toContain(SECRET_CLUSTER);
    const byPath = await get(`/api/v4/projects/${encodeURIComponent(ids.featurePath)}`, tokens.outsider);
    expect(byPath.status).toBe(200);
    const dotted = await get(
      `/api/v4/projects/${ids.featureProject}/repository/files/a..b.yaml/raw?ref=main`,
      tokens.outsider,
    );
    expect(dotted.status).not.toBe(400);
  });
});
