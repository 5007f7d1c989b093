import type { AgentGrantSet, EVENT_TYPES, EventDataOf } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import type { Kysely, Selectable } from "kysely";
import { type AuthorizationRows, authorizationRows } from "./read-model-rows.ts";

type Db = Kysely<ReadModelDatabase>;
type AuthzChangedData = EventDataOf<typeof EVENT_TYPES.authzChanged>;
type Tombstone = Selectable<ReadModelDatabase["read_model.deleted_agents"]>;

/*
 * An agent's deletion and its coming back (GitLab mode: its project left the mirrored root group
 * and returned), across two streams consumed independently. authz publishes, in ONE transaction,
 * the agent with `deleted_at` (registry stream) and its `agent_deleted` empty grant set (authz
 * stream, the agent's subject: in order with its other grant sets). So on the authz stream a
 * grant set is from before the deletion exactly when it comes before that `agent_deleted` one —
 * no clock decides it. The tombstone (`read_model.deleted_agents`) joins the two:
 *
 * - registry consumer: the deletion (`deleted_at`: authz's `deleted_at`; `deletion`: its
 *   number) and the revival (`revived_at`: when the server stored it); `forgetDeletedAgent`,
 *   `reviveAgent`.
 * - authz consumer: the deletion's `agent_deleted` grant set (`grants_cleared_at`: its `time`;
 *   `grants_cleared_deletion`: its `deletion`) and the latest grant set after it (`held_*`);
 *   `applyAuthzChanged`.
 *
 * authz numbers each deletion of an agent (1, 2, …) and puts the number on both records. An
 * `agent_deleted` grant set belongs to the deletion with its number, and is of a later deletion
 * when its number is greater (the authz consumer is ahead: the grant sets after it wait for that
 * deletion's revival). Not by time: two deletions handled by authz replicas whose clocks differ
 * by more than the time between them would pair wrongly. Only when a record has no number (an
 * authz that predates them, a tombstone from before migration 027) are they paired by time, as
 * before: the grant set belongs to a deletion when its time is at or after the deletion's
 * `deleted_at` (authz stamps both in one transaction). A grant set after the `agent_deleted` one
 * is applied to the authorization tables only once the revival from its deletion was applied
 * too; until then it is held on the tombstone and the revival applies it. Both consumers take
 * the agent's lock first (`lockAgentAuditLogs`), so each reads the tombstone as the other last
 * committed it.
 */

/** The agent's tombstone, if it was ever deleted. */
async function tombstoneOf(db: Db, agentId: number): Promise<Tombstone | undefined> {
  return db
    .selectFrom("read_model.deleted_agents")
    .selectAll()
    .where("agent_id", "=", agentId)
    .executeTakeFirst();
}

/** One record of an agent's deletion: its number (null from an authz that predates them) and its time. */
type DeletionRecord = { number: number | null; at: Date };

/**
 * Whether deletion record `a` is of an older deletion of the agent than `b`: by their numbers
 * when both carry one, else by their times (which clocks of different hosts may have stamped).
 */
function isOfOlderDeletion(a: DeletionRecord, b: DeletionRecord): boolean {
  if (a.number !== null && b.number !== null) return a.number < b.number;
  return a.at < b.at;
}

/**
 * The grant sets held since the tombstone's `agent_deleted` one go into the authorization tables:
 * the registry consumer has applied the revival from the deletion that grant set is of. One of a
 * later deletion (by the numbers; times cannot tell) waits for the revival from that one.
 */
function releasesHeldGrants(tombstone: Tombstone): boolean {
  if (tombstone.deleted_at === null || tombstone.revived_at === null) return false;
  const { deletion, grants_cleared_deletion: cleared } = tombstone;
  return deletion === null || cleared === null || cleared <= deletion;
}

/** True while the registry's deletion of the agent is in force (applied, and no revival since). */
export async function isDeletedAgent(db: Db, agentId: number): Promise<boolean> {
  const row = await db
    .selectFrom("read_model.deleted_agents")
    .select("agent_id")
    .where("agent_id", "=", agentId)
    .where("deleted_at", "is not", null)
    .where("revived_at", "is", null)
    .executeTakeFirst();
  return row !== undefined;
}

/** The table of each kind of authorization row (`AuthorizationRows`), GitLab's four. */
const AUTHORIZATION_TABLES = {
  ciAccessProjects: "read_model.ci_access_project_authorizations",
  ciAccessGroups: "read_model.ci_access_group_authorizations",
  userAccessProjects: "read_model.user_access_project_authorizations",
  userAccessGroups: "read_model.user_access_group_authorizations",
} as const satisfies Record<keyof AuthorizationRows, keyof ReadModelDatabase>;

const AUTHORIZATION_KINDS = Object.keys(AUTHORIZATION_TABLES) as (keyof AuthorizationRows)[];

/** Deletes every authorization row of one agent, in the four authorization tables. */
export async function deleteAgentAuthorizations(db: Db, agentId: number): Promise<void> {
  for (const kind of AUTHORIZATION_KINDS) {
    await db.deleteFrom(AUTHORIZATION_TABLES[kind]).where("agent_id", "=", agentId).execute();
  }
}

/**
 * An authorization change carries the agent's whole grant set, so the agent's rows are
 * replaced (delete, then insert) rather than patched with `added`/`removed`: replaying any
 * suffix of the log converges on the same rows. `time` is the event's time, stamped on the
 * report of dropped config entries. For an agent that was ever deleted, the tombstone decides
 * (see above): a grant set from before the deletion is discarded, one after it is held until the
 * revival was applied.
 */
export async function applyAuthzChanged(db: Db, data: AuthzChangedData, time: string): Promise<void> {
  const tombstone = await tombstoneOf(db, data.agent_id);
  if (data.cause === "agent_deleted") return applyAgentDeletedGrants(db, data, tombstone, time);
  if (tombstone === undefined)
    return replaceAgentAuthorizations(db, data.agent_id, data.grants, data.dropped, time);
  if (tombstone.grants_cleared_at === null) {
    // Published before the deletion the registry consumer applied: it must not bring the agent's
    // grants back (the deletion removed them).
    await deleteAgentAuthorizations(db, data.agent_id);
    return;
  }
  await db
    .updateTable("read_model.deleted_agents")
    .set({
      held_grants: JSON.stringify(data.grants),
      held_dropped: JSON.stringify(data.dropped),
      held_at: time,
    })
    .where("agent_id", "=", data.agent_id)
    .execute();
  if (releasesHeldGrants(tombstone))
    await replaceAgentAuthorizations(db, data.agent_id, data.grants, data.dropped, time);
}

/**
 * The empty grant set authz publishes with a deletion (`agent_deleted`): from here on the agent's
 * grant sets are from after that deletion. Marks the tombstone (creates it, when the registry
 * consumer has not applied the deletion yet) unless the grant set belongs to an older deletion
 * than the one recorded (the tombstone's own `agent_deleted` grant set's, else the registry's):
 * the authz consumer is behind, and the grant sets up to this deletion's own `agent_deleted` are
 * still to be discarded. The same one again (a replay) is applied again.
 */
async function applyAgentDeletedGrants(
  db: Db,
  data: AuthzChangedData,
  tombstone: Tombstone | undefined,
  time: string,
): Promise<void> {
  const agentId = data.agent_id;
  const mark: DeletionRecord = { number: data.deletion ?? null, at: new Date(time) };
  const cleared = { grants_cleared_at: time, grants_cleared_deletion: mark.number };
  if (tombstone === undefined) {
    await db
      .insertInto("read_model.deleted_agents")
      .values({ agent_id: agentId, deleted_at: null, ...cleared })
      .execute();
  } else {
    const recorded = recordedDeletion(tombstone);
    if (recorded !== null && isOfOlderDeletion(mark, recorded)) return;
    await db
      .updateTable("read_model.deleted_agents")
      .set({ ...cleared, held_grants: null, held_dropped: null, held_at: null })
      .where("agent_id", "=", agentId)
      .execute();
  }
  await deleteAgentAuthorizations(db, agentId);
  await db.deleteFrom("read_model.agent_authorization_reports").where("agent_id", "=", agentId).execute();
}

/**
 * The latest deletion the tombstone records: its `agent_deleted` grant set's (never older than
 * the registry's deletion: `forgetDeletedAgent` drops an older one), else the registry's.
 */
function recordedDeletion(tombstone: Tombstone): DeletionRecord | null {
  if (tombstone.grants_cleared_at !== null)
    return { number: tombstone.grants_cleared_deletion, at: tombstone.grants_cleared_at };
  if (tombstone.deleted_at !== null) return { number: tombstone.deletion, at: tombstone.deleted_at };
  return null;
}

/**
 * The registry consumer applied the agent's revival: the grant set held since its deletion (if
 * the authz consumer has passed the deletion, and not yet a later one; otherwise its next grant
 * sets come in directly, or wait for the later deletion's revival) goes into the authorization
 * tables.
 */
export async function applyHeldGrants(db: Db, agentId: number): Promise<void> {
  const tombstone = await tombstoneOf(db, agentId);
  if (tombstone === undefined || tombstone.grants_cleared_at === null || tombstone.held_at === null) return;
  if (!releasesHeldGrants(tombstone)) return;
  await replaceAgentAuthorizations(
    db,
    agentId,
    tombstone.held_grants as AgentGrantSet,
    tombstone.held_dropped as AuthzChangedData["dropped"],
    tombstone.held_at.toISOString(),
  );
}

/** Replaces the agent's authorization rows with `grants`, and its report of dropped entries. */
async function replaceAgentAuthorizations(
  db: Db,
  agentId: number,
  grants: AgentGrantSet,
  droppedEntries: AuthzChangedData["dropped"],
  time: string,
): Promise<void> {
  const rows = authorizationRows(agentId, grants);
  await deleteAgentAuthorizations(db, agentId);
  for (const kind of AUTHORIZATION_KINDS) {
    if (rows[kind].length > 0) await db.insertInto(AUTHORIZATION_TABLES[kind]).values(rows[kind]).execute();
  }
  const dropped = JSON.stringify(droppedEntries);
  await db
    .insertInto("read_model.agent_authorization_reports")
    .values({ agent_id: agentId, dropped, updated_at: time })
    .onConflict((oc) => oc.column("agent_id").doUpdateSet({ dropped, updated_at: time }))
    .execute();
}
