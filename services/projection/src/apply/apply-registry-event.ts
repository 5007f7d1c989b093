import {
  type Agent,
  type AgentToken,
  EVENT_TYPES,
  type EventDataOf,
  type KasmapEventOf,
  type REGISTRY_EVENT_TYPES,
  type RegistryKind,
} from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import { type Insertable, type Kysely, sql } from "kysely";
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

type Db = Kysely<ReadModelDatabase>;

type RegistryEventType = (typeof REGISTRY_EVENT_TYPES)[RegistryKind];
export type RegistryEvent = KasmapEventOf<RegistryEventType>;

/** The registry events whose entity is one row of one table, keyed by `id`. */
type EntityEventType = Exclude<RegistryEventType, typeof EVENT_TYPES.agentTokenChanged>;

/** The read model tables of those entities. */
type EntityTable =
  | "read_model.groups"
  | "read_model.projects"
  | "read_model.users"
  | "read_model.memberships"
  | "read_model.personal_access_tokens"
  | "read_model.agents"
  | "read_model.jobs";

type EntityRow = Insertable<ReadModelDatabase[EntityTable]> & { id: number };

/** The entity a registry event carries (`Group` for `groupChanged`, …). */
type EntityOf<T extends EntityEventType> = EventDataOf<T>[Exclude<keyof EventDataOf<T>, "actor_user_id">];

/**
 * Where an entity event lands: the entity in the event's data, its table, its row there (null
 * when the entity was removed: its row is deleted), and what else a removal takes along.
 */
type EntityProjection<T extends EntityEventType> = {
  table: EntityTable;
  entity(data: EventDataOf<T>): EntityOf<T> & { id: number };
  row(entity: EntityOf<T>): EntityRow | null;
  removed?(db: Db, entity: EntityOf<T>): Promise<void>;
};

/**
 * Registry events carry the aggregate's whole new state, so each one is an upsert by id
 * (`insert … on conflict (id) do update set …`): applying the same event twice is harmless.
 * A removed group or project (`deleted_at`, GitLab mode) leaves the read model after the
 * removal events of its projects, agents and memberships; a membership with
 * `access_level: null` was removed.
 */
const ENTITY_PROJECTIONS: { [T in EntityEventType]: EntityProjection<T> } = {
  [EVENT_TYPES.groupChanged]: { table: "read_model.groups", entity: (data) => data.group, row: groupRow },
  [EVENT_TYPES.projectChanged]: {
    table: "read_model.projects",
    entity: (data) => data.project,
    row: projectRow,
  },
  [EVENT_TYPES.userChanged]: { table: "read_model.users", entity: (data) => data.user, row: userRow },
  [EVENT_TYPES.membershipChanged]: {
    table: "read_model.memberships",
    entity: (data) => data.membership,
    row: membershipRow,
  },
  [EVENT_TYPES.personalAccessTokenChanged]: {
    table: "read_model.personal_access_tokens",
    entity: (data) => data.token,
    row: personalAccessTokenRow,
  },
  [EVENT_TYPES.agentChanged]: {
    table: "read_model.agents",
    entity: (data) => data.agent,
    row: agentRow,
    removed: forgetDeletedAgent,
  },
  [EVENT_TYPES.jobChanged]: { table: "read_model.jobs", entity: (data) => data.job, row: jobRow },
};

/**
 * Applies one registry event. `storedAt` is the JetStream time of the message (agent tokens
 * keep it as `revoked_at`).
 */
export async function applyRegistryEvent(db: Db, event: RegistryEvent, storedAt: Date): Promise<void> {
  if (event.type === EVENT_TYPES.agentTokenChanged) return applyAgentToken(db, event.data.token, storedAt);
  return applyEntityEvent(db, event);
}

async function applyEntityEvent<T extends EntityEventType>(
  db: Db,
  event: { type: T; data: EventDataOf<T> },
): Promise<void> {
  const projection: EntityProjection<T> = ENTITY_PROJECTIONS[event.type];
  const entity = projection.entity(event.data);
  const row = projection.row(entity);
  if (row === null) {
    await db.deleteFrom(projection.table).where("id", "=", entity.id).execute();
    await projection.removed?.(db, entity);
    return;
  }
  const { id: _id, ...rest } = row;
  await db
    .insertInto(projection.table)
    .values(row)
    .onConflict((oc) => oc.column("id").doUpdateSet(rest))
    .execute();
}

/**
 * A deleted agent (`deleted_at` set) leaves the read model with its authorizations, its
 * authorization report and its reverse-lookup addresses; its cluster snapshots stay, as history.
 */
async function forgetDeletedAgent(db: Db, agent: Agent): Promise<void> {
  await deleteAgentAuthorizations(db, agent.id);
  await db.deleteFrom("read_model.agent_authorization_reports").where("agent_id", "=", agent.id).execute();
  await deleteClusterAddresses(db, agent.id);
  await db
    .insertInto("read_model.deleted_agents")
    .values({ agent_id: agent.id, deleted_at: agent.deleted_at ?? new Date().toISOString() })
    .onConflict((oc) => oc.column("agent_id").doNothing())
    .execute();
}

/**
 * `revoked_at` keeps the first time the token was seen revoked (`storedAt`, the JetStream time
 * of the registry message): collector events stored after it are refused (collector-standing.ts).
 */
async function applyAgentToken(db: Db, token: AgentToken, storedAt: Date): Promise<void> {
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
