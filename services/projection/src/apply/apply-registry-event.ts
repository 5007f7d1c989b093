import type {
  Agent,
  AgentToken,
  Group,
  Job,
  Membership,
  PersonalAccessToken,
  Project,
  User,
} from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import { type Kysely, sql } from "kysely";
import { deleteAgentAuthorizations } from "./apply-authz-event.ts";
import { deleteClusterAddresses } from "./cluster-addresses.ts";
import {
  agentRow,
  agentTokenRow,
  groupRow,
  jobRow,
  membershipRow,
  personalAccessTokenRow,
  projectRow,
  userRow,
} from "./read-model-rows.ts";

/**
 * Registry events carry the aggregate's whole new state, so each one is an upsert by id
 * (`insert … on conflict (id) do update set …`): applying the same event twice is harmless.
 */
type Db = Kysely<ReadModelDatabase>;

/**
 * A removed group (`deleted_at`, GitLab mode) leaves the read model; its projects, agents and
 * memberships each had their own removal event before it.
 */
export async function applyGroup(db: Db, group: Group): Promise<void> {
  const row = groupRow(group);
  if (row === null) {
    await db.deleteFrom("read_model.groups").where("id", "=", group.id).execute();
    return;
  }
  const { id, ...rest } = row;
  await db
    .insertInto("read_model.groups")
    .values({ id, ...rest })
    .onConflict((oc) => oc.column("id").doUpdateSet(rest))
    .execute();
}

/** A removed project (`deleted_at`) leaves the read model, after its agents' removal events. */
export async function applyProject(db: Db, project: Project): Promise<void> {
  const row = projectRow(project);
  if (row === null) {
    await db.deleteFrom("read_model.projects").where("id", "=", project.id).execute();
    return;
  }
  const { id, ...rest } = row;
  await db
    .insertInto("read_model.projects")
    .values({ id, ...rest })
    .onConflict((oc) => oc.column("id").doUpdateSet(rest))
    .execute();
}

export async function applyUser(db: Db, user: User): Promise<void> {
  const { id, ...rest } = userRow(user);
  await db
    .insertInto("read_model.users")
    .values({ id, ...rest })
    .onConflict((oc) => oc.column("id").doUpdateSet(rest))
    .execute();
}

/** A membership with `access_level: null` was removed: its row is deleted. */
export async function applyMembership(db: Db, membership: Membership): Promise<void> {
  const row = membershipRow(membership);
  if (row === null) {
    await db.deleteFrom("read_model.memberships").where("id", "=", membership.id).execute();
    return;
  }
  const { id, ...rest } = row;
  await db
    .insertInto("read_model.memberships")
    .values({ id, ...rest })
    .onConflict((oc) => oc.column("id").doUpdateSet(rest))
    .execute();
}

export async function applyPersonalAccessToken(db: Db, token: PersonalAccessToken): Promise<void> {
  const { id, ...rest } = personalAccessTokenRow(token);
  await db
    .insertInto("read_model.personal_access_tokens")
    .values({ id, ...rest })
    .onConflict((oc) => oc.column("id").doUpdateSet(rest))
    .execute();
}

/**
 * A deleted agent (`deleted_at` set) leaves the read model with its authorizations, its
 * authorization report and its reverse-lookup addresses; its cluster snapshots stay, as history.
 */
export async function applyAgent(db: Db, agent: Agent): Promise<void> {
  const row = agentRow(agent);
  if (row === null) {
    await db.deleteFrom("read_model.agents").where("id", "=", agent.id).execute();
    await deleteAgentAuthorizations(db, agent.id);
    await db.deleteFrom("read_model.agent_authorization_reports").where("agent_id", "=", agent.id).execute();
    await deleteClusterAddresses(db, agent.id);
    await db
      .insertInto("read_model.deleted_agents")
      .values({ agent_id: agent.id, deleted_at: agent.deleted_at ?? new Date().toISOString() })
      .onConflict((oc) => oc.column("agent_id").doNothing())
      .execute();
    return;
  }
  const { id, ...rest } = row;
  await db
    .insertInto("read_model.agents")
    .values({ id, ...rest })
    .onConflict((oc) => oc.column("id").doUpdateSet(rest))
    .execute();
}

/**
 * `revoked_at` keeps the first time the token was seen revoked (`storedAt`, the JetStream time
 * of the registry message): collector events stored after it are refused (collector-standing.ts).
 */
export async function applyAgentToken(db: Db, token: AgentToken, storedAt: Date): Promise<void> {
  const { id, ...rest } = agentTokenRow(token);
  const revokedAt = token.status === "revoked" ? storedAt : null;
  await db
    .insertInto("read_model.agent_tokens")
    .values({ id, ...rest, revoked_at: revokedAt })
    .onConflict((oc) =>
      oc.column("id").doUpdateSet({
        ...rest,
        revoked_at:
          token.status === "revoked"
            ? sql<Date>`coalesce(read_model.agent_tokens.revoked_at, ${revokedAt})`
            : null,
      }),
    )
    .execute();
}

export async function applyJob(db: Db, job: Job): Promise<void> {
  const { id, ...rest } = jobRow(job);
  await db
    .insertInto("read_model.jobs")
    .values({ id, ...rest })
    .onConflict((oc) => oc.column("id").doUpdateSet(rest))
    .execute();
}
