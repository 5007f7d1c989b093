import { type Bus, publishEvent } from "@kasmap/bus";
import { EVENT_TYPES, newKasmapEvent, type Topology } from "@kasmap/contracts";
import { testEvents } from "@kasmap/testing";
import type { GitLabSimulator, SimAgent, SimGroup, SimProject } from "@kasmap/testing/gitlab-simulator";

const SOURCE = "/kasmap/test/gitlab-mirror";

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
  const registry = topology.subjects.registryChanged;
  const traversal = (groupId: number): number[] => {
    const group = sim.state.requireGroup(groupId);
    return group.parent_id === null ? [group.id] : [...traversal(group.parent_id), group.id];
  };
  const fullName = (groupId: number): string =>
    traversal(groupId)
      .map((id) => sim.state.requireGroup(id).name)
      .join(" / ");
  for (const group of mirrored.groups) {
    await publishEvent(
      bus,
      newKasmapEvent({
        type: EVENT_TYPES.groupChanged,
        source: SOURCE,
        subject: registry("group", group.id),
        data: {
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
        },
      }),
    );
  }
  for (const project of mirrored.projects) {
    await publishEvent(
      bus,
      newKasmapEvent({
        type: EVENT_TYPES.projectChanged,
        source: SOURCE,
        subject: registry("project", project.id),
        data: {
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
        },
      }),
    );
  }
  const events = testEvents(topology);
  for (const agent of mirrored.agents) {
    await publishEvent(
      bus,
      newKasmapEvent({
        type: EVENT_TYPES.agentChanged,
        source: SOURCE,
        subject: registry("agent", agent.id),
        data: {
          agent: {
            id: agent.id,
            name: agent.name,
            project_id: agent.project_id,
            created_at: agent.created_at,
            created_by_user_id: agent.created_by_user_id,
            deleted_at: null,
          },
          actor_user_id: null,
        },
      }),
    );
    await publishEvent(bus, events.agentToken(agent.id, agent.id));
  }
}
