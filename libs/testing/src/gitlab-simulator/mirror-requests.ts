import type { AuthzCommandRequest } from "@kasmap/contracts";
import type { SimAgent, SimulatorState } from "./state.ts";

export type MirrorPutCommand = "mirror.group.put" | "mirror.project.put" | "mirror.agent.put";

/** Sends one `mirror.*` command as the sync service would (authz's reply is not needed). */
export type SendMirrorPut = <N extends MirrorPutCommand>(
  name: N,
  request: AuthzCommandRequest<N>,
) => Promise<unknown>;

/**
 * Puts a simulated agent into authz's mirror as the sync service does, without it: the agent's
 * group chain (top level first), its project and the agent, with GitLab's ids. For tests of authz
 * alone; the system's tests let services/gitlab-sync do it.
 */
export async function mirrorSimulatedAgent(
  state: SimulatorState,
  agent: SimAgent,
  send: SendMirrorPut,
  createdAt = "2026-11-30T10:00:00.000Z",
): Promise<void> {
  const project = state.requireProject(agent.project_id);
  const groups = state.groupAncestors(project.namespace_id).reverse();
  for (const group of groups) {
    await send("mirror.group.put", {
      id: group.id,
      name: group.name,
      path: group.path,
      description: null,
      parent_id: group.parent_id,
      created_at: createdAt,
    });
  }
  const namespace = state.requireGroup(project.namespace_id);
  await send("mirror.project.put", {
    id: project.id,
    name: project.name,
    path: project.path,
    description: null,
    namespace: { id: namespace.id, kind: "group", path: namespace.path, name: namespace.name },
    created_at: createdAt,
  });
  await send("mirror.agent.put", {
    id: agent.id,
    project_id: project.id,
    name: agent.name,
    created_at: createdAt,
  });
}
