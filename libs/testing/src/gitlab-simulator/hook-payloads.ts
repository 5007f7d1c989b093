import type { SimGroup, SimProject, SimUser, SimulatorState } from "./state.ts";

/** The bodies GitLab POSTs (doc/administration/system_hooks.md, webhook_events.md, audit schema). */

export function projectSystemHook(
  state: SimulatorState,
  eventName: "project_create" | "project_destroy" | "project_rename" | "project_transfer" | "project_update",
  project: SimProject,
  options: { old_path_with_namespace?: string; path_with_namespace?: string } = {},
): Record<string, unknown> {
  const now = state.clock();
  return {
    created_at: project.created_at,
    updated_at: now,
    event_name: eventName,
    name: project.name,
    owner_email: "",
    owner_name: "",
    owners: [],
    path: project.path,
    path_with_namespace: options.path_with_namespace ?? state.projectFullPath(project),
    project_id: project.id,
    project_namespace_id: project.namespace_id,
    project_visibility: project.visibility,
    ...(options.old_path_with_namespace === undefined
      ? {}
      : { old_path_with_namespace: options.old_path_with_namespace }),
  };
}

export function groupSystemHook(
  state: SimulatorState,
  eventName: "group_create" | "group_destroy" | "group_rename",
  group: SimGroup,
  options: { full_path?: string; old_path?: string; old_full_path?: string } = {},
): Record<string, unknown> {
  return {
    created_at: group.created_at,
    updated_at: state.clock(),
    event_name: eventName,
    name: group.name,
    path: group.path,
    full_path: options.full_path ?? state.groupFullPath(group.id),
    group_id: group.id,
    ...(options.old_path === undefined ? {} : { old_path: options.old_path }),
    ...(options.old_full_path === undefined ? {} : { old_full_path: options.old_full_path }),
  };
}

/** A one-commit push to the default branch; `object_kind` is set for webhooks only. */
export function pushHook(
  state: SimulatorState,
  project: SimProject,
  user: SimUser | null,
  change: { path: string; action: "added" | "modified" | "removed" },
  options: { webhook: boolean; sequence: number },
): Record<string, unknown> {
  const before = options.sequence.toString(16).padStart(40, "0");
  const after = (options.sequence + 1).toString(16).padStart(40, "0");
  const fullPath = state.projectFullPath(project);
  return {
    ...(options.webhook ? { object_kind: "push" } : {}),
    event_name: "push",
    before,
    after,
    ref: `refs/heads/${project.default_branch}`,
    ref_protected: true,
    checkout_sha: after,
    user_id: user?.id ?? null,
    user_name: user?.name ?? null,
    user_username: user?.username ?? null,
    user_email: "",
    user_avatar: null,
    project_id: project.id,
    project: {
      id: project.id,
      name: project.name,
      description: project.description,
      web_url: `http://gitlab.example/${fullPath}`,
      path_with_namespace: fullPath,
      default_branch: project.default_branch,
      visibility_level: project.visibility === "private" ? 0 : project.visibility === "internal" ? 10 : 20,
    },
    commits: [
      {
        id: after,
        message: `Update ${change.path}`,
        title: `Update ${change.path}`,
        timestamp: state.clock(),
        url: `http://gitlab.example/${fullPath}/-/commit/${after}`,
        author: { name: user?.name ?? "", email: "" },
        added: change.action === "added" ? [change.path] : [],
        modified: change.action === "modified" ? [change.path] : [],
        removed: change.action === "removed" ? [change.path] : [],
      },
    ],
    total_commits_count: 1,
    repository: { name: project.name, homepage: `http://gitlab.example/${fullPath}` },
  };
}

/** A streamed audit event on a project (agents' events are scoped to the agent's project). */
export function auditStreamingEvent(
  state: SimulatorState,
  input: {
    id: number;
    event_type: string;
    project: SimProject;
    author: SimUser | null;
    target_id: number;
    target_type: string;
    target_details: string;
    message: string;
  },
): Record<string, unknown> {
  const entityPath = state.projectFullPath(input.project);
  return {
    id: String(input.id),
    author_id: input.author?.id ?? -1,
    author_name: input.author?.name ?? "(system)",
    entity_id: input.project.id,
    entity_type: "Project",
    entity_path: entityPath,
    details: {
      author_name: input.author?.name ?? "(system)",
      custom_message: input.message,
      target_id: input.target_id,
      target_type: input.target_type,
      target_details: input.target_details,
      entity_path: entityPath,
    },
    ip_address: "127.0.0.1",
    target_id: input.target_id,
    target_type: input.target_type,
    target_details: input.target_details,
    created_at: state.clock(),
    event_type: input.event_type,
  };
}
