import { type Kysely, sql } from "kysely";

/**
 * `pg_advisory_xact_lock(0x6b73, 1)`: held by every transaction that writes the inputs of
 * `read_model.ci_access_namespace_grants` or rebuilds it. Class 0x6b73 sits beside the
 * projection's others (0x6b70 alert outbox, 0x6b71 unit leases, 0x6b72 replica presence).
 */
const WRITER_LOCK = sql.raw("pg_advisory_xact_lock(x'6b73'::int, 1)");

export async function up(db: Kysely<unknown>): Promise<void> {
  // 023's triggers refresh the grants from what their statements see, and under READ COMMITTED a
  // transaction sees no other's uncommitted writes: the projection's registry and authz
  // consumers apply their streams in concurrent transactions, so a group move could re-insert
  // a grant from an authorization that the authz transaction was deleting, while that
  // transaction's refresh of the agent, blocked on the row the move replaced, could not see the
  // re-inserted one (a grant left behind, e.g. after a same-root `POST /groups/:id/transfer`);
  // or each could miss the other's new row (a grant never made). Taking one lock before the
  // first write of any input, until commit, makes the writers of the inputs run one after
  // another, so each refresh sees every write committed before it: the grants are what one
  // serial order gives, which is what a rebuild computes. A transaction-level advisory lock
  // rather than `lock table` on the grants: it does not conflict with VACUUM and ANALYZE of that
  // churned table, and readers never take it. Only the registry and authz streams (and
  // fixtures, rebuilds) write these tables: the collectors' partitions never wait for it.
  // Taken before the statement's rows are written, so a waiting writer holds no row of the
  // inputs that the holder may need.
  await sql`
    create function read_model.ci_access_namespace_grants_lock_writers() returns trigger
    language plpgsql
    as $fn$
    begin
      perform ${WRITER_LOCK};
      return null;
    end
    $fn$;
  `.execute(db);
  for (const table of ["groups", "projects", "agents", "ci_access_group_authorizations"]) {
    await sql`
      create trigger ${sql.raw(`${table}_ci_access_namespace_grants_lock`)}
        before insert or update or delete on ${sql.table(`read_model.${table}`)}
        for each statement execute function read_model.ci_access_namespace_grants_lock_writers();
    `.execute(db);
  }
  // 023's rebuild, under the same lock: run beside a writer, its delete could miss the rows the
  // writer inserts and its insert then collide with them. PL/pgSQL, so each statement's
  // snapshot is taken once the lock is held.
  await sql`
    create or replace function read_model.rebuild_ci_access_namespace_grants() returns void
    language plpgsql
    as $fn$
    begin
      perform ${WRITER_LOCK};
      delete from read_model.ci_access_namespace_grants;
      insert into read_model.ci_access_namespace_grants (
        namespace_id, agent_id, via_group_id, config, agent_name, cp_id, cp_name, cp_path,
        cp_description, cp_path_with_namespace, cp_name_with_namespace, cp_namespace_id,
        cp_traversal_ids, cp_creator_id, cp_created_at)
      select distinct on (g.id, a.agent_id)
        g.id, a.agent_id, a.group_id, a.config, ag.name, cp.id, cp.name, cp.path, cp.description,
        cp.path_with_namespace, cp.name_with_namespace, cp.namespace_id, cp.traversal_ids,
        cp.creator_id, cp.created_at
      from read_model.groups g
      cross join lateral unnest(g.traversal_ids) with ordinality t(group_id, depth)
      join read_model.ci_access_group_authorizations a on a.group_id = t.group_id
      join read_model.agents ag on ag.id = a.agent_id
      join read_model.projects cp on cp.id = ag.project_id
      where cp.traversal_ids[1] = g.traversal_ids[1]
      order by g.id, a.agent_id, t.depth desc;
    end
    $fn$;
  `.execute(db);
}
