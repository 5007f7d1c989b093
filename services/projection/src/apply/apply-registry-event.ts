import {
  type Agent,
  type AgentToken,
  EVENT_TYPES,
  type EventDataOf,
  type KasmapEvent,
  type KasmapEventOf,
  type REGISTRY_EVENT_TYPES,
  type RegistryKind,
} from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import { type Insertable, type Kysely, sql } from "kysely";
import { applyHeldGrants, deleteAgentAuthorizations } from "./apply-authz-event.ts";
import { deleteClusterAddresses, reindexLatestSnapshot } from "./cluster-addresses.ts";
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
export type EntityTable =
  | "read_model.groups"
  | "read_model.projects"
  | "read_model.users"
  | "read_model.memberships"
  | "read_model.personal_access_tokens"
  | "read_model.agents"
  | "read_model.jobs";

export type EntityRow = Insertable<ReadModelDatabase[EntityTable]> & { id: number };

/** The entity a registry event carries (`Group` for `groupChanged`, …). */
type EntityOf<T extends EntityEventType> = EventDataOf<T>[Exclude<keyof EventDataOf<T>, "actor_user_id">];

/**
 * Where an entity event lands: the entity in the event's data, its table, its row there (null
 * when the entity was removed: its row is deleted), what else a removal takes along, and what
 * else the row's (re)appearance does — the upsert inserted it: the entity is new, or back after
 * its removal (`storedAt`: when the server stored the event).
 */
type EntityProjection<T extends EntityEventType> = {
  table: EntityTable;
  entity(data: EventDataOf<T>): EntityOf<T> & { id: number };
  row(entity: EntityOf<T>): EntityRow | null;
  removed?(db: Db, entity: EntityOf<T>): Promise<void>;
  inserted?(db: Db, entity: EntityOf<T>, storedAt: Date): Promise<void>;
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
    inserted: reviveAgent,
  },
  [EVENT_TYPES.jobChanged]: { table: "read_model.jobs", entity: (data) => data.job, row: jobRow },
};

/**
 * Applies one registry event. `storedAt` is the JetStream time of the message (agent tokens
 * keep it as `revoked_at`).
 */
export async function applyRegistryEvent(db: Db, event: RegistryEvent, storedAt: Date): Promise<void> {
  if (event.type === EVENT_TYPES.agentTokenChanged) return applyAgentToken(db, event.data.token, storedAt);
  return applyEntityEvent(db, event, storedAt);
}

async function applyEntityEvent<T extends EntityEventType>(
  db: Db,
  event: { type: T; data: EventDataOf<T> },
  storedAt: Date,
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
  const upsert = db
    .insertInto(projection.table)
    .values(row)
    .onConflict((oc) => oc.column("id").doUpdateSet(rest));
  if (projection.inserted === undefined) {
    await upsert.execute();
    return;
  }
  // A row version the statement inserted has no xmax; one `do update` wrote has its own.
  const { inserted } = await upsert
    .returning(sql<boolean>`xmax = 0`.as("inserted"))
    .executeTakeFirstOrThrow();
  if (inserted) await projection.inserted(db, entity, storedAt);
}

/**
 * The row a registry event upserts, when a run of such events may be applied set-based
 * (`upsertEntityRows`): an entity kept (not removed) whose event yields no audit event and reads
 * nothing first — groups, projects, users, memberships, personal access tokens, jobs. Agents and
 * agent tokens stay event by event (audit log, revocation times). `key` names the table and the
 * row's columns: rows of one key may share one statement (an entity without an optional field
 * must not have it overwritten by the statement's other rows).
 */
export function entityUpsertOf(
  event: KasmapEvent,
): { key: string; table: EntityTable; row: EntityRow } | null {
  switch (event.type) {
    case EVENT_TYPES.groupChanged:
    case EVENT_TYPES.projectChanged:
    case EVENT_TYPES.userChanged:
    case EVENT_TYPES.membershipChanged:
    case EVENT_TYPES.personalAccessTokenChanged:
    case EVENT_TYPES.jobChanged:
      return entityUpsert(event);
    default:
      return null;
  }
}

function entityUpsert<T extends EntityEventType>(event: {
  type: T;
  data: EventDataOf<T>;
}): { key: string; table: EntityTable; row: EntityRow } | null {
  const projection: EntityProjection<T> = ENTITY_PROJECTIONS[event.type];
  const row = projection.row(projection.entity(event.data));
  if (row === null) return null;
  return { key: `${projection.table}(${Object.keys(row).join(",")})`, table: projection.table, row };
}

/**
 * Upserts rows of one table with the same columns (one `entityUpsertOf` key) in ONE statement,
 * with the effect of their events applied one by one in order: each entity's last row wins (an
 * event carries the entity's whole state; one upsert may not touch a row twice).
 *
 * ```sql
 * insert into <table> (id, …) values ($1, …), … on conflict (id) do update set … = excluded.…
 * ```
 */
export async function upsertEntityRows(
  db: Db,
  table: EntityTable,
  rows: readonly EntityRow[],
): Promise<void> {
  const last = new Map<number, EntityRow>();
  for (const row of rows) last.set(row.id, row);
  const first = rows[0];
  if (first === undefined) return;
  const columns = Object.keys(first).filter((column) => column !== "id");
  const unique = [...last.values()];
  // A parameter per value: PostgreSQL takes at most 65,535 in one statement.
  const perStatement = Math.floor(MAX_STATEMENT_PARAMETERS / (columns.length + 1));
  for (let start = 0; start < unique.length; start += perStatement) {
    await db
      .insertInto(table)
      .values(unique.slice(start, start + perStatement))
      .onConflict((oc) =>
        oc
          .column("id")
          .doUpdateSet(Object.fromEntries(columns.map((column) => [column, sql.ref(`excluded.${column}`)]))),
      )
      .execute();
  }
}

/** The bind parameters PostgreSQL's protocol allows in one statement (an Int16 count). */
const MAX_STATEMENT_PARAMETERS = 65_535;

/** Deletions an agent came back from that its tombstone keeps (each one's times, for its collector). */
export const PAST_DELETIONS_KEPT = 100;

/**
 * A deleted agent (`deleted_at` set) leaves the read model with its authorizations, its
 * authorization report and its reverse-lookup addresses; its cluster snapshots stay, as history.
 * Its tombstone records the deletion with its number (apply-authz-event.ts): a revival before it
 * is over, and the authz consumer's marks of an older deletion, are forgotten; a mark of this
 * deletion or a later one (the authz consumer is ahead) stays, with the grant set held since.
 * A mark is of this deletion or a later one when its number is at least this deletion's; when
 * either lacks a number (an authz that predates them), when its time is at or after this
 * deletion's `deleted_at`. A deletion the agent came back from joins `past_deletions` (the newest
 * `PAST_DELETIONS_KEPT`), so collector events stored during any of them stay refused, also when
 * a consumer applies them late (a rebuild).
 *
 * ```sql
 * insert into read_model.deleted_agents (agent_id, deleted_at, deletion) values ($1, $2, $3)
 * on conflict (agent_id) do update set deleted_at = excluded.deleted_at,
 *   deletion = excluded.deletion, revived_at = null,
 *   grants_cleared_at = case when <ahead> then deleted_agents.grants_cleared_at end, held_… = …,
 *   past_deletions = case when <the last deletion ended> then <past_deletions + {from, until}> … end
 * -- <ahead>: case when deleted_agents.grants_cleared_deletion is not null and excluded.deletion is not null
 * --   then deleted_agents.grants_cleared_deletion >= excluded.deletion
 * --   else deleted_agents.grants_cleared_at >= excluded.deleted_at end
 * ```
 */
async function forgetDeletedAgent(db: Db, agent: Agent): Promise<void> {
  const deletedAt = agent.deleted_at ?? new Date().toISOString();
  await deleteAgentAuthorizations(db, agent.id);
  await db.deleteFrom("read_model.agent_authorization_reports").where("agent_id", "=", agent.id).execute();
  await deleteClusterAddresses(db, agent.id);
  const ahead = sql<boolean>`case
    when read_model.deleted_agents.grants_cleared_deletion is not null and excluded.deletion is not null
      then read_model.deleted_agents.grants_cleared_deletion >= excluded.deletion
    else read_model.deleted_agents.grants_cleared_at >= excluded.deleted_at end`;
  const keptIfAhead = <T>(column: string) =>
    sql<T>`case when ${ahead} then ${sql.ref(`read_model.deleted_agents.${column}`)} end`;
  const ended = sql<boolean>`read_model.deleted_agents.deleted_at is not null
    and read_model.deleted_agents.revived_at is not null`;
  const withEnded = sql<string>`(select jsonb_agg(e order by n) from (
      select e, n from jsonb_array_elements(
        coalesce(read_model.deleted_agents.past_deletions, '[]'::jsonb) || jsonb_build_array(jsonb_build_object(
          'from', read_model.deleted_agents.deleted_at, 'until', read_model.deleted_agents.revived_at))
      ) with ordinality as t(e, n) order by n desc limit ${PAST_DELETIONS_KEPT}) as newest)`;
  await db
    .insertInto("read_model.deleted_agents")
    .values({ agent_id: agent.id, deleted_at: deletedAt, deletion: agent.deletion ?? null })
    .onConflict((oc) =>
      oc.column("agent_id").doUpdateSet({
        deleted_at: sql.ref("excluded.deleted_at"),
        deletion: sql.ref("excluded.deletion"),
        revived_at: null,
        grants_cleared_at: keptIfAhead<Date | null>("grants_cleared_at"),
        grants_cleared_deletion: keptIfAhead<number | null>("grants_cleared_deletion"),
        held_grants: keptIfAhead<string | null>("held_grants"),
        held_dropped: keptIfAhead<string | null>("held_dropped"),
        held_at: keptIfAhead<Date | null>("held_at"),
        past_deletions: sql<string | null>`case when ${ended} then ${withEnded}
          else read_model.deleted_agents.past_deletions end`,
      }),
    )
    .execute();
}

/**
 * A live agent whose deletion the tombstone records has come back (GitLab mode: its project
 * returned to the mirrored root group): the revival is recorded at `storedAt`, when the server
 * stored it (collector events stored from then on are its own again), the grant set held since
 * the deletion, if any, is applied, and its latest snapshot's addresses, which the deletion took
 * away, are indexed again (the reverse lookup finds it as before). Run only when the agent's
 * upsert inserted its row: the deletion in force deleted it, so the revival is the first event to
 * insert it again, and the live agent's later events (updates) skip this statement.
 *
 * ```sql
 * update read_model.deleted_agents set revived_at = $2
 *  where agent_id = $1 and deleted_at is not null and revived_at is null
 * ```
 */
async function reviveAgent(db: Db, agent: Agent, storedAt: Date): Promise<void> {
  const revived = await db
    .updateTable("read_model.deleted_agents")
    .set({ revived_at: storedAt })
    .where("agent_id", "=", agent.id)
    .where("deleted_at", "is not", null)
    .where("revived_at", "is", null)
    .executeTakeFirst();
  if (Number(revived.numUpdatedRows) === 0) return;
  await applyHeldGrants(db, agent.id);
  await reindexLatestSnapshot(db, agent.id);
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
