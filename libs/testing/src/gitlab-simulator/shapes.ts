import type { SimAgent, SimGroup, SimJob, SimProject, SimUser, SimulatorState } from "./state.ts";

/** The JSON GitLab answers for each object (doc/api/*.md, lib/api/entities). */

export function userJson(user: SimUser, options: { withAdmin: boolean }): Record<string, unknown> {
  return {
    id: user.id,
    username: user.username,
    name: user.name,
    state: user.state,
    locked: false,
    avatar_url: null,
    web_url: `http://gitlab.example/${user.username}`,
    ...(options.withAdmin ? { is_admin: user.is_admin } : {}),
  };
}

export function groupJson(state: SimulatorState, group: SimGroup): Record<string, unknown> {
  const fullPath = state.groupFullPath(group.id);
  return {
    id: group.id,
    web_url: `http://gitlab.example/groups/${fullPath}`,
    name: group.name,
    path: group.path,
    description: group.description,
    visibility: group.visibility,
    full_name: state.groupFullName(group.id),
    full_path: fullPath,
    parent_id: group.parent_id,
    created_at: group.created_at,
  };
}

export function namespaceJson(state: SimulatorState, namespaceId: number): Record<string, unknown> {
  const ownerId = state.userNamespaces.get(namespaceId);
  if (ownerId !== undefined) {
    const user = state.requireUser(ownerId);
    return {
      id: namespaceId,
      name: user.name,
      path: user.username,
      kind: "user",
      full_path: user.username,
      parent_id: null,
    };
  }
  const group = state.requireGroup(namespaceId);
  return {
    id: group.id,
    name: group.name,
    path: group.path,
    kind: "group",
    full_path: state.groupFullPath(group.id),
    parent_id: group.parent_id,
  };
}

export function projectJson(
  state: SimulatorState,
  project: SimProject,
  permissions?: { project_access: number | null; group_access: number | null },
): Record<string, unknown> {
  const namespace = namespaceJson(state, project.namespace_id);
  const pathWithNamespace = `${namespace.full_path as string}/${project.path}`;
  return {
    id: project.id,
    description: project.description,
    name: project.name,
    name_with_namespace: `${namespace.name as string} / ${project.name}`,
    path: project.path,
    path_with_namespace: pathWithNamespace,
    created_at: project.created_at,
    default_branch: project.default_branch,
    visibility: project.visibility,
    web_url: `http://gitlab.example/${pathWithNamespace}`,
    namespace,
    ...(permissions === undefined
      ? {}
      : {
          permissions: {
            project_access:
              permissions.project_access === null ? null : accessJson(permissions.project_access),
            group_access: permissions.group_access === null ? null : accessJson(permissions.group_access),
          },
        }),
  };
}

function accessJson(level: number): { access_level: number; notification_level: number } {
  return { access_level: level, notification_level: 3 };
}

export function agentJson(state: SimulatorState, agent: SimAgent): Record<string, unknown> {
  const project = state.requireProject(agent.project_id);
  return {
    id: agent.id,
    name: agent.name,
    config_project: {
      id: project.id,
      description: project.description,
      name: project.name,
      name_with_namespace: `${namespaceJson(state, project.namespace_id).name as string} / ${project.name}`,
      path: project.path,
      path_with_namespace: state.projectFullPath(project),
      created_at: project.created_at,
    },
    created_at: agent.created_at,
    created_by_user_id: agent.created_by_user_id,
  };
}

/** `GET /job`: the job's own view, with its pipeline and user. */
export function jobJson(state: SimulatorState, job: SimJob): Record<string, unknown> {
  const user = state.requireUser(job.user_id);
  return {
    id: job.id,
    status: job.status,
    stage: "deploy",
    name: "deploy",
    ref: job.ref,
    tag: false,
    allow_failure: false,
    created_at: new Date(0).toISOString(),
    user: userJson(user, { withAdmin: false }),
    pipeline: {
      id: job.pipeline_id,
      project_id: job.project_id,
      ref: job.ref,
      sha: "0".repeat(40),
      status: "running",
    },
  };
}
