import { AuthzChangedDataSchema, KasmapEventSchema } from "@kasmap/contracts";
import { createDatabase, type ReadModelDatabase } from "@kasmap/db";
import { queryAllowedAgents } from "@kasmap/gateway-service";
import { type GitLabSimulator, startGitLabSimulator } from "@kasmap/testing/gitlab-simulator";
import { eventually } from "@kasmap/testing/harness";
import { type KasmapSystem, startKasmapSystem } from "@kasmap/testing/system";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Issue 9, end to end through the gateway: GitLab (the simulator) delivers its system hooks to
 * Kasmap's `POST /api/v4/-/gitlab/hooks` over HTTP; the gateway stores them, the sync service
 * re-reads GitLab and hands authz `mirror.*` commands, the projection applies the events. The
 * MR's hierarchy: Root-Group/Operators/Agent-Project holds the agent, and
 * Root-Group/Developers/Feature-Project is the project that deploys with it.
 */
const HOOK_SECRET = "e2e-hook-secret";
let gitlab: GitLabSimulator;
let system: KasmapSystem;
let readModel: Kysely<ReadModelDatabase>;
let agentProject: number;
let featureProject: number;
let developers: number;
let agent: number;

beforeAll(async () => {
  gitlab = await startGitLabSimulator();
  const admin = gitlab.addUser({ username: "e2e-admin", is_admin: true });
  const root = gitlab.addGroup({ path: "root-group", name: "Root-Group" });
  const operators = gitlab.addGroup({ path: "operators", name: "Operators", parent_id: root.id });
  developers = gitlab.addGroup({ path: "developers", name: "Developers", parent_id: root.id }).id;
  gitlab.addGroup({ path: "elsewhere", name: "Elsewhere" });
  agentProject = gitlab.addProject({
    path: "agent-project",
    name: "Agent-Project",
    namespace_id: operators.id,
  }).id;
  featureProject = gitlab.addProject({
    path: "feature-project",
    name: "Feature-Project",
    namespace_id: developers,
  }).id;
  agent = gitlab.addAgent(agentProject, "agent").id;
  gitlab.setFile(
    agentProject,
    ".gitlab/agents/agent/config.yaml",
    "ci_access:\n  projects:\n    - id: root-group/developers/feature-project\n",
  );
  system = await startKasmapSystem({
    gitlab: {
      url: gitlab.url,
      token: gitlab.addToken(admin.id),
      hookSecret: HOOK_SECRET,
      reconcileSeconds: 3600,
    },
  });
  gitlab.addSystemHook(`${system.gatewayUrl}/api/v4/-/gitlab/hooks`, HOOK_SECRET);
  readModel = createDatabase<ReadModelDatabase>({ url: system.databaseUrl, max: 2, applicationName: "e2e" });
  // The first reconcile runs at start; wait for its result in the read model.
  await eventually(
    async () => ((await allowedAgentIds(featureProject)).includes(agent) ? true : undefined),
    "the initial mirror",
    60_000,
  );
}, 120_000);

afterAll(async () => {
  await readModel?.destroy();
  await system?.stop();
  await gitlab?.close();
});

async function allowedAgentIds(projectId: number): Promise<number[]> {
  return (await queryAllowedAgents(readModel, projectId)).map((row) => row.agent_id);
}

/** The authorization-changed events of the agent stored after `afterSeq`. */
async function authzChanges(afterSeq: number) {
  const stream = system.topology.streamNames.authz;
  const info = await system.bus.jsm.streams.info(stream);
  const changes = [];
  for (let seq = afterSeq + 1; seq <= info.state.last_seq; seq++) {
    const message = await system.bus.jsm.streams.getMessage(stream, { seq });
    if (message?.subject !== system.topology.subjects.authzChanged(agent)) continue;
    const event = KasmapEventSchema.parse(message.json());
    changes.push(AuthzChangedDataSchema.parse(event.data));
  }
  return changes;
}

async function authzLastSeq(): Promise<number> {
  return (await system.bus.jsm.streams.info(system.topology.streamNames.authz)).state.last_seq;
}

describe("GitLab mode: the mirror follows GitLab's hooks", () => {
  it("a project_transfer hook changes allowed_agents and publishes an authorization-changed event", async () => {
    expect(await allowedAgentIds(featureProject)).toEqual([agent]);
    const before = await authzLastSeq();
    const elsewhere = gitlab.state.findGroup("elsewhere");
    if (!elsewhere) throw new Error("no group elsewhere");
    gitlab.transferProject(featureProject, elsewhere.id);
    await eventually(
      async () => ((await allowedAgentIds(featureProject)).length === 0 ? true : undefined),
      "Feature-Project no longer allowed the agent",
    );
    const changes = await eventually(async () => {
      const found = await authzChanges(before);
      return found.length > 0 ? found : undefined;
    }, "an authorization-changed event");
    expect(changes.at(-1)).toMatchObject({ agent_id: agent, cause: "project_moved" });
    const row = await readModel
      .selectFrom("read_model.projects")
      .select("path_with_namespace")
      .where("id", "=", featureProject)
      .executeTakeFirstOrThrow();
    expect(row.path_with_namespace).toBe("elsewhere/feature-project");

    // And back, by hook again: allowed again.
    gitlab.transferProject(featureProject, developers);
    await eventually(
      async () => ((await allowedAgentIds(featureProject)).includes(agent) ? true : undefined),
      "Feature-Project allowed the agent again",
    );
  });

  it("a push editing the agent's config.yaml adds a group to ci_access", async () => {
    const other = gitlab.addProject({ path: "other-app", name: "Other-App", namespace_id: developers }).id;
    await eventually(
      () =>
        readModel.selectFrom("read_model.projects").select("id").where("id", "=", other).executeTakeFirst(),
      "Other-App mirrored from its project_create hook",
    );
    expect(await allowedAgentIds(other)).toEqual([]);
    gitlab.setFile(
      agentProject,
      ".gitlab/agents/agent/config.yaml",
      "ci_access:\n  projects:\n    - id: root-group/developers/feature-project\n  groups:\n    - id: root-group/developers\n",
    );
    await eventually(
      () =>
        readModel
          .selectFrom("read_model.ci_access_group_authorizations")
          .selectAll()
          .where("agent_id", "=", agent)
          .where("group_id", "=", developers)
          .executeTakeFirst(),
      "ci_access to root-group/developers from the push",
    );
    expect(await allowedAgentIds(other)).toEqual([agent]);
  });
});
