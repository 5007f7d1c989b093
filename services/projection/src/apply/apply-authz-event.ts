import type { EVENT_TYPES, EventDataOf } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import type { Kysely } from "kysely";
import { authorizationRows } from "./read-model-rows.ts";

type Db = Kysely<ReadModelDatabase>;

/** True once the agent's deletion was applied (its tombstone exists). */
export async function isDeletedAgent(db: Db, agentId: number): Promise<boolean> {
  const row = await db
    .selectFrom("read_model.deleted_agents")
    .select("agent_id")
    .where("agent_id", "=", agentId)
    .executeTakeFirst();
  return row !== undefined;
}

/** Deletes every authorization row of one agent, in the four authorization tables. */
export async function deleteAgentAuthorizations(db: Db, agentId: number): Promise<void> {
  await db
    .deleteFrom("read_model.ci_access_project_authorizations")
    .where("agent_id", "=", agentId)
    .execute();
  await db.deleteFrom("read_model.ci_access_group_authorizations").where("agent_id", "=", agentId).execute();
  await db
    .deleteFrom("read_model.user_access_project_authorizations")
    .where("agent_id", "=", agentId)
    .execute();
  await db
    .deleteFrom("read_model.user_access_group_authorizations")
    .where("agent_id", "=", agentId)
    .execute();
}

/**
 * An authorization change carries the agent's whole grant set, so the agent's rows are
 * replaced (delete, then insert) rather than patched with `added`/`removed`: replaying any
 * suffix of the log converges on the same rows. `time` is the event's time, stamped on the
 * report of dropped config entries.
 */
export async function applyAuthzChanged(
  db: Db,
  data: EventDataOf<typeof EVENT_TYPES.authzChanged>,
  time: string,
): Promise<void> {
  const rows = authorizationRows(data.agent_id, data.grants);
  await deleteAgentAuthorizations(db, data.agent_id);
  // A grant set that arrives after the agent's deletion (another stream) must not bring it back.
  if (await isDeletedAgent(db, data.agent_id)) return;
  if (rows.ciAccessProjects.length > 0) {
    await db
      .insertInto("read_model.ci_access_project_authorizations")
      .values(rows.ciAccessProjects)
      .execute();
  }
  if (rows.ciAccessGroups.length > 0) {
    await db.insertInto("read_model.ci_access_group_authorizations").values(rows.ciAccessGroups).execute();
  }
  if (rows.userAccessProjects.length > 0) {
    await db
      .insertInto("read_model.user_access_project_authorizations")
      .values(rows.userAccessProjects)
      .execute();
  }
  if (rows.userAccessGroups.length > 0) {
    await db
      .insertInto("read_model.user_access_group_authorizations")
      .values(rows.userAccessGroups)
      .execute();
  }
  const dropped = JSON.stringify(data.dropped);
  await db
    .insertInto("read_model.agent_authorization_reports")
    .values({ agent_id: data.agent_id, dropped, updated_at: time })
    .onConflict((oc) => oc.column("agent_id").doUpdateSet({ dropped, updated_at: time }))
    .execute();
}
