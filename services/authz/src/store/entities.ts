import type {
  AccessLevel,
  Agent,
  AgentToken,
  AgentTokenKind,
  Group,
  Job,
  Membership,
  PersonalAccessToken,
  Project,
  User,
} from "@kasmap/contracts";
import type { Selectable } from "kysely";
import type { AuthzDatabase, AuthzExecutor } from "./schema.ts";

/**
 * Row → entity mappers and loaders. Entities are what events carry (whole state, digests
 * only), so every event is built from a freshly loaded row, never from request input.
 */

type Row<T extends keyof AuthzDatabase> = Selectable<AuthzDatabase[T]>;

const iso = (d: Date): string => d.toISOString();
const isoOrNull = (d: Date | null): string | null => (d ? d.toISOString() : null);

// `mirrored_at` (and the config digest) are bookkeeping of GitLab mode, not entity state: events
// never carry them, so a put that only stamps them changes nothing a subscriber sees.
export function toGroup(row: Row<"authz.groups">): Group {
  const { mirrored_at: _mirrored, ...group } = row;
  return { ...group, created_at: iso(row.created_at) };
}

export function toProject(row: Row<"authz.projects">): Project {
  const { mirrored_at: _mirrored, ...project } = row;
  return { ...project, created_at: iso(row.created_at) };
}

export function toUser(row: Row<"authz.users">): User {
  return { ...row, created_at: iso(row.created_at) };
}

export function toMembership(row: Row<"authz.memberships">): Membership {
  return { ...row, access_level: row.access_level as AccessLevel };
}

export function toPersonalAccessToken(row: Row<"authz.personal_access_tokens">): PersonalAccessToken {
  return { ...row, created_at: iso(row.created_at) };
}

/**
 * A deleted agent carries the number of its deletion (`deletion`), when counted: agents deleted
 * before authz counted deletions (migration 010) and not since have none.
 */
export function toAgent(row: Row<"authz.agents">): Agent {
  const { mirrored_at: _mirrored, mirror_config_sha256: _digest, deletions, ...agent } = row;
  const deletion = row.deleted_at !== null && deletions > 0 ? { deletion: deletions } : {};
  return { ...agent, created_at: iso(row.created_at), deleted_at: isoOrNull(row.deleted_at), ...deletion };
}

export function toAgentToken(row: Row<"authz.agent_tokens">): AgentToken {
  // The lease columns are authz's own bookkeeping: the event says active or revoked.
  const { lease_expires_at: _lease, lapsed_at: _lapsed, ...token } = row;
  return { ...token, created_at: iso(row.created_at), last_used_at: isoOrNull(row.last_used_at) };
}

export function toJob(row: Row<"authz.jobs">): Job {
  return { ...row, created_at: iso(row.created_at) };
}

/**
 * A group, never a personal namespace: the groups API, subgroups, group memberships and group
 * moves do not exist for user namespaces in GitLab, so those see them as missing (404 Group).
 */
export async function findGroup(db: AuthzExecutor, id: number): Promise<Group | undefined> {
  const group = await findNamespace(db, id);
  return group?.kind === "group" ? group : undefined;
}

/** A namespace of either kind: where a project may be created or moved to. */
export async function findNamespace(db: AuthzExecutor, id: number): Promise<Group | undefined> {
  const row = await db.selectFrom("authz.groups").selectAll().where("id", "=", id).executeTakeFirst();
  return row && toGroup(row);
}

export async function findProject(db: AuthzExecutor, id: number): Promise<Project | undefined> {
  const row = await db.selectFrom("authz.projects").selectAll().where("id", "=", id).executeTakeFirst();
  return row && toProject(row);
}

export async function findUser(db: AuthzExecutor, id: number): Promise<User | undefined> {
  const row = await db.selectFrom("authz.users").selectAll().where("id", "=", id).executeTakeFirst();
  return row && toUser(row);
}

/** A live (not deleted) agent of `projectId`. */
export async function findLiveAgent(
  db: AuthzExecutor,
  projectId: number,
  agentId: number,
): Promise<Agent | undefined> {
  const row = await db
    .selectFrom("authz.agents")
    .selectAll()
    .where("id", "=", agentId)
    .where("project_id", "=", projectId)
    .where("deleted_at", "is", null)
    .executeTakeFirst();
  return row && toAgent(row);
}

/** The agent's token of `kind` with that id (a token of the other kind is not found). */
export async function findAgentToken(
  db: AuthzExecutor,
  agentId: number,
  tokenId: number,
  kind: AgentTokenKind,
): Promise<AgentToken | undefined> {
  const row = await db
    .selectFrom("authz.agent_tokens")
    .selectAll()
    .where("id", "=", tokenId)
    .where("agent_id", "=", agentId)
    .where("kind", "=", kind)
    .executeTakeFirst();
  return row && toAgentToken(row);
}
