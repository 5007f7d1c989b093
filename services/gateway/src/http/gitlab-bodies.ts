import type { AgentResponse, ProjectIdentity } from "@kasmap/contracts";
import { isExpired } from "../auth/credential-verdict.ts";
import type { ProjectRow } from "../read-model/registry-queries.ts";

/**
 * Response bodies in GitLab's shapes, built from read-model rows (times as `Date`) or command
 * results (times as ISO strings) alike. Only fields Kasmap actually knows are emitted; where
 * GitLab's body has more (avatars, web URLs, visibility), Kasmap leaves them out rather than
 * inventing values.
 */
type Time = Date | string;

/** ISO-8601 with milliseconds in UTC, as GitLab renders times (`2022-03-20T20:42:40.221Z`). */
export function isoTime(time: Time): string {
  return new Date(time).toISOString();
}

type ProjectLike = Omit<ProjectRow, "traversal_ids" | "created_at"> & { created_at: Time };
/** What `ProjectIdentity` shows of a project (an allowed agent's configuration project has no more). */
type ProjectIdentityLike = Pick<
  ProjectLike,
  "id" | "description" | "name" | "name_with_namespace" | "path" | "path_with_namespace" | "created_at"
>;
type GroupLike = {
  id: number;
  /** `user` for a personal namespace; older callers' rows without it are groups. */
  kind?: "group" | "user";
  name: string;
  path: string;
  description: string | null;
  parent_id: number | null;
  full_path: string;
  full_name: string;
  created_at: Time;
};
type AgentLike = { id: number; name: string; created_at: Time; created_by_user_id: number | null };
type AgentTokenLike = {
  id: number;
  agent_id: number;
  name: string;
  description: string | null;
  status: "active" | "revoked";
  created_at: Time;
  created_by_user_id: number | null;
  last_used_at: Time | null;
};
type UserLike = {
  id: number;
  username: string;
  name: string;
  state: string;
  is_admin: boolean;
  created_at: Time;
};

/** `API::Entities::ProjectIdentity`. */
export function projectIdentityBody(project: ProjectIdentityLike): ProjectIdentity {
  return {
    id: project.id,
    description: project.description,
    name: project.name,
    name_with_namespace: project.name_with_namespace,
    path: project.path,
    path_with_namespace: project.path_with_namespace,
    created_at: isoTime(project.created_at),
  };
}

/** `API::Entities::Project`, reduced to what Kasmap knows; `namespace` is a group or a user's. */
export function projectBody(project: ProjectLike, namespace: GroupLike) {
  return {
    ...projectIdentityBody(project),
    namespace: {
      id: namespace.id,
      name: namespace.name,
      path: namespace.path,
      kind: namespace.kind ?? "group",
      full_path: namespace.full_path,
      parent_id: namespace.parent_id,
    },
    creator_id: project.creator_id,
  };
}

/** `API::Entities::Group`, reduced to what Kasmap knows. */
export function groupBody(group: GroupLike) {
  return {
    id: group.id,
    name: group.name,
    path: group.path,
    description: group.description,
    full_name: group.full_name,
    full_path: group.full_path,
    parent_id: group.parent_id,
    created_at: isoTime(group.created_at),
  };
}

/** `API::Entities::Clusters::Agent`: exactly these keys (GitLab's schema forbids others). */
export function agentBody(agent: AgentLike, configProject: ProjectLike): AgentResponse {
  return {
    id: agent.id,
    name: agent.name,
    config_project: projectIdentityBody(configProject),
    created_at: isoTime(agent.created_at),
    created_by_user_id: agent.created_by_user_id,
  };
}

/** `API::Entities::Clusters::AgentToken`; `last_used_at` only on the single-token read and create. */
export function agentTokenBody(token: AgentTokenLike, options: { lastUsed: boolean }) {
  const body = {
    id: token.id,
    name: token.name,
    description: token.description,
    agent_id: token.agent_id,
    status: token.status,
    created_at: isoTime(token.created_at),
    created_by_user_id: token.created_by_user_id,
  };
  if (!options.lastUsed) return body;
  return { ...body, last_used_at: token.last_used_at === null ? null : isoTime(token.last_used_at) };
}

/** A collector token as `GET …/collector_tokens` lists it (Kasmap's; never the token or its digest). */
export function collectorTokenBody(token: AgentTokenLike) {
  return {
    id: token.id,
    name: token.name,
    description: token.description,
    created_at: isoTime(token.created_at),
    created_by_user_id: token.created_by_user_id,
    last_used_at: token.last_used_at === null ? null : isoTime(token.last_used_at),
  };
}

/** `API::Entities::UserBasic` plus `is_admin` and `created_at` (what an admin sees). */
export function userBody(user: UserLike) {
  return {
    id: user.id,
    username: user.username,
    name: user.name,
    state: user.state,
    is_admin: user.is_admin,
    created_at: isoTime(user.created_at),
  };
}

/** `API::Entities::Member`. Kasmap has no membership expiry, so `expires_at` is always null. */
export function memberBody(
  user: Pick<UserLike, "id" | "username" | "name" | "state">,
  accessLevel: number | null,
) {
  return {
    id: user.id,
    username: user.username,
    name: user.name,
    state: user.state,
    access_level: accessLevel,
    expires_at: null,
  };
}

type PersonalAccessTokenLike = {
  id: number;
  name: string;
  revoked: boolean;
  created_at: Time;
  scopes: readonly string[];
  user_id: number;
  expires_at: string | null;
};

/**
 * `API::Entities::PersonalAccessToken`. Kasmap records neither when nor from where a token was
 * last used: `last_used_at` is null. `active`: neither revoked nor expired (a token may be
 * created already expired).
 */
export function personalAccessTokenBody(token: PersonalAccessTokenLike) {
  return {
    id: token.id,
    name: token.name,
    revoked: token.revoked,
    created_at: isoTime(token.created_at),
    scopes: token.scopes,
    user_id: token.user_id,
    last_used_at: null,
    active: !token.revoked && !isExpired(token.expires_at, new Date()),
    expires_at: token.expires_at,
  };
}
