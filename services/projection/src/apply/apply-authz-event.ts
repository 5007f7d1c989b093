import type { EVENT_TYPES, EventDataOf } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import type { Kysely } from "kysely";
import { type AuthorizationRows, authorizationRows } from "./read-model-rows.ts";

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
  for (const kind of AUTHORIZATION_KINDS) {
    if (rows[kind].length > 0) await db.insertInto(AUTHORIZATION_TABLES[kind]).values(rows[kind]).execute();
  }
  const dropped = JSON.stringify(data.dropped);
  await db
    .insertInto("read_model.agent_authorization_reports")
    .values({ agent_id: data.agent_id, dropped, updated_at: time })
    .onConflict((oc) => oc.column("agent_id").doUpdateSet({ dropped, updated_at: time }))
    .execute();
}
