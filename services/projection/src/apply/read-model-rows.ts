import {
  type Agent,
  type AgentGrantSet,
  type AgentToken,
  type EVENT_TYPES,
  type EventDataOf,
  type Group,
  type Job,
  KasmapError,
  type Membership,
  type PersonalAccessToken,
  type Project,
  type User,
} from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import type { Insertable } from "kysely";

/**
 * Pure mappings from event data to read model rows. Everything the database could refuse for
 * good (a value its column type can never hold) is refused here first, as
 * `KasmapError("poison_event")`, so the message is dead-lettered instead of retried forever.
 */

type Row<T extends keyof ReadModelDatabase> = Insertable<ReadModelDatabase[T]>;

/** null when the group was removed (`deleted_at`, GitLab mode): its row must be deleted. */
export function groupRow(group: Group): Row<"read_model.groups"> | null {
  if (group.deleted_at !== undefined) return null;
  return { ...group };
}

/** null when the project was removed (`deleted_at`, GitLab mode): its row must be deleted. */
export function projectRow(project: Project): Row<"read_model.projects"> | null {
  if (project.deleted_at !== undefined) return null;
  return { ...project };
}

export function userRow(user: User): Row<"read_model.users"> {
  return { ...user };
}

/** null when the membership was removed (its row must be deleted). */
export function membershipRow(membership: Membership): Row<"read_model.memberships"> | null {
  if (membership.access_level === null) return null;
  return { ...membership, access_level: membership.access_level };
}

const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

export function personalAccessTokenRow(token: PersonalAccessToken): Row<"read_model.personal_access_tokens"> {
  // GitLab's expires_at is a date (`2026-01-31`); anything else can never fit the column.
  if (token.expires_at !== null && !isCalendarDate(token.expires_at)) {
    throw new KasmapError("poison_event", `personal access token ${token.id}: expires_at is not a date`);
  }
  return { ...token };
}

function isCalendarDate(value: string): boolean {
  if (!DATE_PATTERN.test(value)) return false;
  const parsed = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(value);
}

/** null when the agent was deleted (its row and its authorizations must be deleted). */
export function agentRow(agent: Agent): Row<"read_model.agents"> | null {
  if (agent.deleted_at !== null) return null;
  const { deleted_at: _deleted, deletion: _deletion, ...row } = agent;
  return row;
}

export function agentTokenRow(token: AgentToken): Row<"read_model.agent_tokens"> {
  return { ...token };
}

export function jobRow(job: Job): Row<"read_model.jobs"> {
  return { ...job, environment: job.environment === null ? null : JSON.stringify(job.environment) };
}

export type AuthorizationRows = {
  ciAccessProjects: Row<"read_model.ci_access_project_authorizations">[];
  ciAccessGroups: Row<"read_model.ci_access_group_authorizations">[];
  userAccessProjects: Row<"read_model.user_access_project_authorizations">[];
  userAccessGroups: Row<"read_model.user_access_group_authorizations">[];
};

/** One row per agent × target, as GitLab stores them; `config` is the entry minus its id. */
export function authorizationRows(agentId: number, grants: AgentGrantSet): AuthorizationRows {
  const onProject = (g: { project_id: number; config: unknown }) => ({
    agent_id: agentId,
    project_id: g.project_id,
    config: JSON.stringify(g.config),
  });
  const onGroup = (g: { group_id: number; config: unknown }) => ({
    agent_id: agentId,
    group_id: g.group_id,
    config: JSON.stringify(g.config),
  });
  return {
    ciAccessProjects: grants.ci_access.projects.map(onProject),
    ciAccessGroups: grants.ci_access.groups.map(onGroup),
    userAccessProjects: grants.user_access.projects.map(onProject),
    userAccessGroups: grants.user_access.groups.map(onGroup),
  };
}

/** The snapshot row; `streamSeq` orders snapshots of one agent. */
export function snapshotRow(
  data: EventDataOf<typeof EVENT_TYPES.clusterSnapshot>,
  streamSeq: number,
): Row<"read_model.cluster_snapshots"> {
  return {
    agent_id: data.agent_id,
    content_hash: data.content_hash,
    cluster: JSON.stringify(data.cluster),
    observed_at: data.cluster.observed_at,
    stream_seq: streamSeq,
  };
}

export function connectionRow(
  data: EventDataOf<typeof EVENT_TYPES.clusterHeartbeat>,
): Row<"read_model.agent_connections"> {
  return {
    agent_id: data.agent_id,
    collector_id: data.collector_id,
    last_heartbeat_at: data.sent_at,
    content_hash: data.content_hash,
  };
}

/**
 * The row of the collector a heartbeat comes from (`read_model.collector_connections`). A
 * heartbeat of a collector older than issue 11 names no pod: those values are null.
 */
export function collectorConnectionRow(
  data: EventDataOf<typeof EVENT_TYPES.clusterHeartbeat>,
): Row<"read_model.collector_connections"> {
  // One literal, no spread: on Node 20 every property added after a spread costs ~1 µs
  // (measured: 10 µs for this row, 0.03 µs as a literal), and heartbeats build one each.
  return {
    agent_id: data.agent_id,
    collector_id: data.collector_id,
    pod_name: data.pod_name ?? null,
    pod_ip: data.pod_ip ?? null,
    namespace: data.namespace ?? null,
    node: data.node ?? null,
    version: data.version ?? null,
    commit: data.commit ?? null,
    connected_at: data.sent_at,
    last_heartbeat_at: data.sent_at,
    stopped_at: data.stopping ? data.sent_at : null,
    cluster_uid: data.cluster_uid ?? null,
  };
}
