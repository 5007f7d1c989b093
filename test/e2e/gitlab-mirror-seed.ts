import { type Bus, publishEvent } from "@kasmap/bus";
import { type EventDataOf, newKasmapEvent, REGISTRY_EVENT_TYPES, type Topology } from "@kasmap/contracts";
import { createLogger } from "@kasmap/logging";
import { type ProjectionService, startProjectionService } from "@kasmap/projection-service";
import { testEvents } from "@kasmap/testing";
import type {
  AgentProjectHierarchy,
  GitLabSimulator,
  SimAgent,
  SimGroup,
  SimProject,
} from "@kasmap/testing/gitlab-simulator";
import type { TestWorld } from "@kasmap/testing/world";

const SOURCE = "/kasmap/test/gitlab-mirror";

type MirroredKind = "group" | "project" | "agent";

/**
 * Puts the simulator's groups, projects and agents into Kasmap's registry streams with GitLab's
 * ids, paths and hierarchy, as the mirror publishes them (the projection turns them into the read
 * model); each agent also gets a token, without which the projection refuses its snapshots. A
 * stand-in for the sync service and authz's mirror commands in tests of the gateway alone.
 */
export async function seedMirror(
  bus: Bus,
  topology: Topology,
  sim: GitLabSimulator,
  mirrored: { groups: SimGroup[]; projects: SimProject[]; agents: SimAgent[] },
): Promise<void> {
  const publishMirrored = <K extends MirroredKind>(
    kind: K,
    id: number,
    data: EventDataOf<(typeof REGISTRY_EVENT_TYPES)[K]>,
  ) =>
    publishEvent(
      bus,
      newKasmapEvent({
        type: REGISTRY_EVENT_TYPES[kind],
        source: SOURCE,
        subject: topology.subjects.registryChanged(kind, id),
        data,
      }),
    );
  const traversal = (groupId: number): number[] => {
    const group = sim.state.requireGroup(groupId);
    return group.parent_id === null ? [group.id] : [...traversal(group.parent_id), group.id];
  };
  const fullName = (groupId: number): string =>
    traversal(groupId)
      .map((id) => sim.state.requireGroup(id).name)
      .join(" / ");
  for (const group of mirrored.groups) {
    await publishMirrored("group", group.id, {
      group: {
        id: group.id,
        kind: "group",
        owner_id: null,
        name: group.name,
        path: group.path,
        description: group.description,
        parent_id: group.parent_id,
        traversal_ids: traversal(group.id),
        full_path: sim.state.groupFullPath(group.id),
        full_name: fullName(group.id),
        created_at: group.created_at,
      },
      actor_user_id: null,
    });
  }
  for (const project of mirrored.projects) {
    await publishMirrored("project", project.id, {
      project: {
        id: project.id,
        name: project.name,
        path: project.path,
        description: project.description,
        namespace_id: project.namespace_id,
        traversal_ids: traversal(project.namespace_id),
        path_with_namespace: `${sim.state.groupFullPath(project.namespace_id)}/${project.path}`,
        name_with_namespace: `${fullName(project.namespace_id)} / ${project.name}`,
        creator_id: null,
        created_at: project.created_at,
      },
      actor_user_id: null,
    });
  }
  const events = testEvents(topology);
  for (const agent of mirrored.agents) {
    // GitLab's agent as the simulator holds it; the mirror publishes no deleted agent.
    await publishMirrored("agent", agent.id, { agent: { ...agent, deleted_at: null }, actor_user_id: null });
    await publishEvent(bus, events.agentToken(agent.id, agent.id));
  }
}

/**
 * Starts a projection on the world's database and mirrors the agent-project hierarchy
 * (`addAgentProjectHierarchy`) with `agents` into it (`seedMirror`): the read model a GitLab-mode
 * gateway test starts from. The caller stops the projection.
 */
export async function startMirroredProjection(
  world: TestWorld,
  sim: GitLabSimulator,
  hierarchy: AgentProjectHierarchy,
  agents: SimAgent[],
): Promise<ProjectionService> {
  const projection = await startProjectionService({
    bus: world.bus,
    databaseUrl: world.database.url,
    logger: createLogger("projection", "silent"),
  });
  const { root, operators, developers, agentProject, featureProject } = hierarchy;
  await seedMirror(world.bus, world.topology, sim, {
    groups: [root, operators, developers],
    projects: [agentProject, featureProject],
    agents,
  });
  return projection;
}
