import { type Kysely, sql } from "kysely";

/**
 * The columns of one answer row: the agent, its rule (`priority`: 0 explicit, 1 implicit,
 * 2 group), and its configuration project as GitLab's `ProjectIdentity` (what the routes send).
 */
const ANSWER_COLUMNS = [
  "agent_id",
  "priority",
  "via_group_id",
  "config",
  "agent_name",
  "cp_id",
  "cp_name",
  "cp_path",
  "cp_description",
  "cp_path_with_namespace",
  "cp_name_with_namespace",
  "cp_created_at",
] as const;

/** `alias.column, …` for every answer column; `priority`, when given, is that expression instead. */
function answerColumns(alias: string, priority?: string) {
  return sql.raw(
    ANSWER_COLUMNS.map((column) =>
      column === "priority" && priority !== undefined ? priority : `${alias}.${column}`,
    ).join(", "),
  );
}

/** The configuration project's answer columns from the projects row `alias`, `cp_`-prefixed. */
function configProjectColumns(alias: string) {
  return sql.raw(
    ANSWER_COLUMNS.filter((column) => column.startsWith("cp_"))
      .map((column) => `${alias}.${column.slice(3)} as ${column}`)
      .join(", "),
  );
}

export async function up(db: Kysely<unknown>): Promise<void> {
  // Issue 12 goal 4, the worst case (a deep project under the largest root: ~6 agents per
  // answer). The database's part was already about one primary-key lookup; what remained was
  // the rows' width on the wire and in the client, where an int[] costs as much to parse as a
  // whole row of text. The routes send the configuration project as GitLab's ProjectIdentity
  // (id, name, path, description, path_with_namespace, name_with_namespace, created_at), so the
  // answer stops returning its namespace_id, traversal_ids and creator_id (012's function, kept
  // as allowed_agents_by_traversal, still returns them: it is the tests' reference). Same
  // statements as 023 for most projects: the project's primary key with two probes for its own
  // rows, then one index range of its namespace's grants. A project with rows of its own ranks
  // them together with its namespace's rows in one pass.
  await sql`
    drop function read_model.allowed_agents(bigint, boolean);

    create function read_model.allowed_agents(p_project_id bigint, p_include_descendants boolean)
    returns table (
      agent_id bigint, priority int, via_group_id bigint, config jsonb, agent_name text,
      cp_id bigint, cp_name text, cp_path text, cp_description text,
      cp_path_with_namespace text, cp_name_with_namespace text, cp_created_at timestamptz
    )
    language plpgsql stable
    as $fn$
    #variable_conflict use_column
    declare
      v_namespace_id bigint;
      v_root int;
      v_own boolean;
    begin
      if not p_include_descendants then
        return query select ${answerColumns("t")}
          from read_model.allowed_agents_by_traversal(p_project_id, false) t;
        return;
      end if;
      -- The project's primary key, and whether it has rows of its own (explicit or implicit).
      select p.namespace_id, p.traversal_ids[1],
             exists (select from read_model.ci_access_project_authorizations a where a.project_id = p.id)
             or exists (select from read_model.agents ag where ag.project_id = p.id)
        into v_namespace_id, v_root, v_own
        from read_model.projects p where p.id = p_project_id;
      if not found then
        return;
      end if;
      if not v_own then
        -- Most projects: the answer is the namespace's rows, in primary key order.
        return query
          select ${answerColumns("n", "2")}
            from read_model.ci_access_namespace_grants n
           where n.namespace_id = v_namespace_id
           order by n.agent_id;
        return;
      end if;
      -- Per agent, explicit (0) beats implicit (1) beats group (2); an explicit row counts
      -- while the agent's configuration project shares the project's root group, as the
      -- namespace's rows (kept only so, their columns copied in) do.
      return query
        select ${answerColumns("b")} from (
          select distinct on (c.agent_id) c.* from (
            select a.agent_id, 0 as priority, null::bigint as via_group_id, a.config,
                   ag.name as agent_name, ${configProjectColumns("cp")}
              from read_model.ci_access_project_authorizations a
              join read_model.agents ag on ag.id = a.agent_id
              join read_model.projects cp on cp.id = ag.project_id
             where a.project_id = p_project_id and cp.traversal_ids[1] = v_root
            union all
            select ag.id, 1, null, '{}'::jsonb, ag.name, ${configProjectColumns("cp")}
              from read_model.agents ag join read_model.projects cp on cp.id = ag.project_id
             where ag.project_id = p_project_id
            union all
            select ${answerColumns("n", "2")}
              from read_model.ci_access_namespace_grants n where n.namespace_id = v_namespace_id
          ) c
          order by c.agent_id, c.priority
        ) b
        order by b.priority, b.agent_id;
    end
    $fn$;
  `.execute(db);
}
