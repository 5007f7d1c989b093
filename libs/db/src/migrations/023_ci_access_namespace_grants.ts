import { type Kysely, type RawBuilder, sql } from "kysely";

/** The columns of an allowed-agents answer row the group rule contributes (012's function's). */
const GRANT_COLUMNS = sql.raw(`
  namespace_id, agent_id, via_group_id, config, agent_name, cp_id, cp_name, cp_path, cp_description,
  cp_path_with_namespace, cp_name_with_namespace, cp_namespace_id, cp_traversal_ids, cp_creator_id,
  cp_created_at`);

/** The agent and its configuration project, as those columns (with `g` the namespace, `a` the row). */
const GRANT_VALUES = sql.raw(`
  g.id, a.agent_id, a.group_id, a.config, ag.name, cp.id, cp.name, cp.path, cp.description,
  cp.path_with_namespace, cp.name_with_namespace, cp.namespace_id, cp.traversal_ids, cp.creator_id,
  cp.created_at`);

/**
 * Inserts the rows of the namespaces `which` selects (over `g`, the groups): each namespace's
 * traversal_ids walked against the group authorizations, the innermost one per agent kept.
 */
function insertNamespaceGrants(which: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`
    insert into read_model.ci_access_namespace_grants (${GRANT_COLUMNS})
    select distinct on (g.id, a.agent_id) ${GRANT_VALUES}
    from read_model.groups g
    cross join lateral unnest(g.traversal_ids) with ordinality t(group_id, depth)
    join read_model.ci_access_group_authorizations a on a.group_id = t.group_id
    join read_model.agents ag on ag.id = a.agent_id
    join read_model.projects cp on cp.id = ag.project_id
    where ${which} and cp.traversal_ids[1] = g.traversal_ids[1]
    order by g.id, a.agent_id, t.depth desc`;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  // Issue 12 goal 4: the group rule of GitLab's CI access finder, resolved ahead of the query.
  // One row per (namespace N, agent A): A's innermost `ci_access` group authorization on N or
  // one of N's ancestors (N's `traversal_ids`), kept only while A's configuration project shares
  // N's root group (the `include_descendants` rule, on by default), with A's name and its
  // configuration project's columns copied in. A project's allowed agents are then its
  // namespace's rows (one index range) plus its own explicit and implicit rows (rare).
  // Rows: one per namespace per agent authorized on one of its ancestors (groups × inherited
  // grants, never projects × agents).
  await sql`
    create table read_model.ci_access_namespace_grants (
      namespace_id bigint not null,
      agent_id bigint not null,
      via_group_id bigint not null,
      config jsonb not null,
      agent_name text not null,
      cp_id bigint not null,
      cp_name text not null,
      cp_path text not null,
      cp_description text,
      cp_path_with_namespace text not null,
      cp_name_with_namespace text not null,
      cp_namespace_id bigint not null,
      cp_traversal_ids int[] not null,
      cp_creator_id bigint,
      cp_created_at timestamptz not null,
      primary key (namespace_id, agent_id)
    );
    create index ci_access_namespace_grants_agent on read_model.ci_access_namespace_grants (agent_id);
  `.execute(db);

  // What the rows of namespaces (by id) and of agents (by id) should be, and a whole rebuild.
  // Set-based: the namespaces' side walks their traversal_ids; the agents' side finds the
  // subtrees of their authorized groups with the groups' GIN index.
  await sql`
    create function read_model.refresh_ci_access_namespace_grants(
      p_namespace_ids bigint[], p_agent_ids bigint[]
    ) returns void
    language plpgsql
    as $fn$
    begin
      if cardinality(p_namespace_ids) > 0 then
        delete from read_model.ci_access_namespace_grants where namespace_id = any(p_namespace_ids);
        ${insertNamespaceGrants(sql`g.id = any(p_namespace_ids)`)};
      end if;
      if cardinality(p_agent_ids) > 0 then
        delete from read_model.ci_access_namespace_grants where agent_id = any(p_agent_ids);
        insert into read_model.ci_access_namespace_grants (${GRANT_COLUMNS})
        select distinct on (g.id, a.agent_id) ${GRANT_VALUES}
        from read_model.ci_access_group_authorizations a
        join read_model.agents ag on ag.id = a.agent_id
        join read_model.projects cp on cp.id = ag.project_id
        -- The authorized group's subtree from the GIN index (the fence keeps the planner from
        -- scanning the whole root through groups_root instead).
        cross join lateral (
          select d.id, d.traversal_ids from read_model.groups d
          where d.traversal_ids @> array[a.group_id::int] offset 0
        ) g
        where a.agent_id = any(p_agent_ids) and g.traversal_ids[1] = cp.traversal_ids[1]
        order by g.id, a.agent_id, array_position(g.traversal_ids, a.group_id::int) desc;
      end if;
    end
    $fn$;

    create function read_model.rebuild_ci_access_namespace_grants() returns void
    language sql
    as $fn$
      delete from read_model.ci_access_namespace_grants;
      ${insertNamespaceGrants(sql`true`)};
    $fn$;
  `.execute(db);

  // Kept by the writes themselves: statement-level triggers (transition tables, so a bulk
  // statement refreshes once, set-based) on the four tables the rows derive from. Whoever
  // writes — the projection applying or replaying events, a rebuild, a test's fixture — the
  // rows follow in the same transaction, with no extra round trip per event.
  await sql`
    create function read_model.ci_access_namespace_grants_follow() returns trigger
    language plpgsql
    as $fn$
    declare
      v_namespaces bigint[];
      v_agents bigint[];
    begin
      if tg_table_name = 'groups' then
        -- A namespace's rows depend on its traversal_ids (ancestors and root) only.
        if tg_op = 'INSERT' then
          v_namespaces := array(select n.id from new_rows n);
        elsif tg_op = 'DELETE' then
          v_namespaces := array(select o.id from old_rows o);
        else
          v_namespaces := array(
            select n.id from new_rows n join old_rows o on o.id = n.id
            where n.traversal_ids is distinct from o.traversal_ids);
        end if;
      elsif tg_table_name = 'ci_access_group_authorizations' then
        if tg_op = 'INSERT' then
          v_agents := array(select distinct n.agent_id from new_rows n);
        elsif tg_op = 'DELETE' then
          v_agents := array(select distinct o.agent_id from old_rows o);
        else
          v_agents := array(select n.agent_id from new_rows n union select o.agent_id from old_rows o);
        end if;
      elsif tg_table_name = 'agents' then
        if tg_op = 'INSERT' then
          v_agents := array(select n.id from new_rows n);
        elsif tg_op = 'DELETE' then
          v_agents := array(select o.id from old_rows o);
        else
          v_agents := array(
            select n.id from new_rows n join old_rows o on o.id = n.id
            where (n.name, n.project_id) is distinct from (o.name, o.project_id));
        end if;
      elsif tg_table_name = 'projects' then
        -- Only configuration projects matter: their columns are copied, their root decides.
        if tg_op = 'INSERT' then
          v_agents := array(select ag.id from read_model.agents ag join new_rows n on n.id = ag.project_id);
        elsif tg_op = 'DELETE' then
          v_agents := array(select ag.id from read_model.agents ag join old_rows o on o.id = ag.project_id);
        else
          v_agents := array(
            select ag.id from read_model.agents ag
            join new_rows n on n.id = ag.project_id
            join old_rows o on o.id = n.id
            where (n.name, n.path, n.description, n.path_with_namespace, n.name_with_namespace,
                   n.namespace_id, n.traversal_ids, n.creator_id, n.created_at)
               is distinct from
                  (o.name, o.path, o.description, o.path_with_namespace, o.name_with_namespace,
                   o.namespace_id, o.traversal_ids, o.creator_id, o.created_at));
        end if;
      end if;
      if cardinality(v_namespaces) > 0 or cardinality(v_agents) > 0 then
        perform read_model.refresh_ci_access_namespace_grants(v_namespaces, v_agents);
      end if;
      return null;
    end
    $fn$;
  `.execute(db);
  for (const table of ["groups", "projects", "agents", "ci_access_group_authorizations"]) {
    const on = sql.table(`read_model.${table}`);
    const name = (op: string) => sql.raw(`${table}_ci_access_namespace_grants_${op}`);
    await sql`
      create trigger ${name("insert")} after insert on ${on}
        referencing new table as new_rows
        for each statement execute function read_model.ci_access_namespace_grants_follow();
      create trigger ${name("update")} after update on ${on}
        referencing new table as new_rows old table as old_rows
        for each statement execute function read_model.ci_access_namespace_grants_follow();
      create trigger ${name("delete")} after delete on ${on}
        referencing old table as old_rows
        for each statement execute function read_model.ci_access_namespace_grants_follow();
    `.execute(db);
  }
  await sql`
    -- 012's function stays, renamed: the reference answer (flag off, and the tests' oracle).
    alter function read_model.allowed_agents(bigint, boolean) rename to allowed_agents_by_traversal;

    create function read_model.allowed_agents(p_project_id bigint, p_include_descendants boolean)
    returns table (
      agent_id bigint, priority int, via_group_id bigint, config jsonb, agent_name text,
      cp_id bigint, cp_name text, cp_path text, cp_description text,
      cp_path_with_namespace text, cp_name_with_namespace text, cp_namespace_id bigint,
      cp_traversal_ids int[], cp_creator_id bigint, cp_created_at timestamptz
    )
    language plpgsql stable
    as $fn$
    #variable_conflict use_column
    declare
      v_namespace_id bigint;
      v_own boolean;
    begin
      if not p_include_descendants then
        return query select * from read_model.allowed_agents_by_traversal(p_project_id, false);
        return;
      end if;
      -- The project's primary key, and whether it has rows of its own (explicit or implicit).
      select p.namespace_id,
             exists (select from read_model.ci_access_project_authorizations a where a.project_id = p.id)
             or exists (select from read_model.agents ag where ag.project_id = p.id)
        into v_namespace_id, v_own
        from read_model.projects p where p.id = p_project_id;
      if not found then
        return;
      end if;
      if not v_own then
        -- Most projects: the answer is the namespace's rows, in primary key order.
        return query
          select n.agent_id, 2, n.via_group_id, n.config, n.agent_name, n.cp_id, n.cp_name,
                 n.cp_path, n.cp_description, n.cp_path_with_namespace, n.cp_name_with_namespace,
                 n.cp_namespace_id, n.cp_traversal_ids, n.cp_creator_id, n.cp_created_at
            from read_model.ci_access_namespace_grants n
           where n.namespace_id = v_namespace_id
           order by n.agent_id;
        return;
      end if;
      -- Explicit (0) beats implicit (1) beats group (2); an explicit row counts while the
      -- agent's configuration project shares the project's root group, as the group rows do.
      return query
        with p as (select id, traversal_ids from read_model.projects where id = p_project_id),
        candidates as (
          select a.agent_id, 0 as priority, a.config
            from read_model.ci_access_project_authorizations a join p on a.project_id = p.id
          union all
          select ag.id, 1, '{}'::jsonb from read_model.agents ag join p on ag.project_id = p.id
        ),
        own as (
          select distinct on (c.agent_id)
            c.agent_id, c.priority, null::bigint as via_group_id, c.config, ag.name as agent_name,
            cp.id as cp_id, cp.name as cp_name, cp.path as cp_path, cp.description as cp_description,
            cp.path_with_namespace as cp_path_with_namespace,
            cp.name_with_namespace as cp_name_with_namespace, cp.namespace_id as cp_namespace_id,
            cp.traversal_ids as cp_traversal_ids, cp.creator_id as cp_creator_id,
            cp.created_at as cp_created_at
          from candidates c
          join read_model.agents ag on ag.id = c.agent_id
          join read_model.projects cp on cp.id = ag.project_id
          cross join p
          where c.priority = 1 or cp.traversal_ids[1] = p.traversal_ids[1]
          order by c.agent_id, c.priority
        )
        select o.agent_id, o.priority, o.via_group_id, o.config, o.agent_name, o.cp_id, o.cp_name,
               o.cp_path, o.cp_description, o.cp_path_with_namespace, o.cp_name_with_namespace,
               o.cp_namespace_id, o.cp_traversal_ids, o.cp_creator_id, o.cp_created_at
          from own o
        union all
        select n.agent_id, 2, n.via_group_id, n.config, n.agent_name, n.cp_id, n.cp_name,
               n.cp_path, n.cp_description, n.cp_path_with_namespace, n.cp_name_with_namespace,
               n.cp_namespace_id, n.cp_traversal_ids, n.cp_creator_id, n.cp_created_at
          from read_model.ci_access_namespace_grants n
         where n.namespace_id = v_namespace_id
           and not exists (select from own o where o.agent_id = n.agent_id)
        order by 2, 1;
    end
    $fn$;
  `.execute(db);
  // Rows written before this migration.
  await sql`select read_model.rebuild_ci_access_namespace_grants()`.execute(db);
}
