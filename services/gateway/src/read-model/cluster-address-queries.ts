import { sql } from "kysely";
import type { ProjectFilter } from "../access/access-source.ts";
import { type PageRequest, pageOffset } from "../http/pagination.ts";
import type { ProjectJsonRow, ReadModel } from "./registry-queries.ts";

/** What a reverse lookup asks: the agents whose infrastructure holds an address or overlaps a range. */
export type AddressQuery = { kind: "ip"; ip: string } | { kind: "cidr"; cidr: string };

/** Most matches returned per agent; `matches_total` has the full count. */
export const MAX_MATCHES_PER_AGENT = 100;

export type AddressMatchRow = {
  agent_id: number;
  agent_name: string;
  agent_created_at: Date;
  agent_created_by_user_id: number | null;
  project: ProjectJsonRow;
  matches: Array<{ field: string; address: string }>;
  matches_total: number;
  cluster: {
    cluster_name: string | null;
    cluster_context: string | null;
    api_endpoint: string | null;
    platform: string | null;
    region: string | null;
  };
};

/** `count(*)` is int8, which `@kasmap/db` parses as a number. */
type RawRow = AddressMatchRow & { total: number };

/**
 * One page of the agents the caller may read (`readable`) whose latest snapshot holds `query`, ordered by
 * configuration project path, agent name, id. The match is answered by the GiST index
 * `cluster_addresses_address` (`address >>= $ip` contains, `address && $cidr` overlaps);
 * visibility is the access source's `projectsWhere(user, "read_cluster_agent")` (Developer+).
 *
 * ```sql
 * with hits as (select agent_id, field, address from read_model.cluster_addresses
 *               where address >>= $ip::inet)
 * select ag.*, to_jsonb(p) as project, (array_agg(…))[1:100] as matches, count(*) as matches_total,
 *        s.cluster->>'cluster_name', …, count(*) over () as total
 * from hits h join read_model.agents ag on ag.id = h.agent_id
 * join read_model.projects p on p.id = ag.project_id
 * left join read_model.cluster_snapshots s on s.agent_id = ag.id
 * where <readable>
 * group by ag.id, p.id, s.agent_id order by p.path_with_namespace, ag.name, ag.id limit $n offset $m
 * ```
 */
export async function lookUpAgentsByAddress(
  db: ReadModel,
  readable: ProjectFilter,
  query: AddressQuery,
  page: PageRequest,
): Promise<{ rows: AddressMatchRow[]; total: number }> {
  const match =
    query.kind === "ip" ? sql`address >>= ${query.ip}::inet` : sql`address && ${query.cidr}::inet`;
  const result = await sql<RawRow>`
    with hits as (select agent_id, field, address from read_model.cluster_addresses where ${match})
    select ag.id as agent_id, ag.name as agent_name, ag.created_at as agent_created_at,
      ag.created_by_user_id as agent_created_by_user_id,
      to_jsonb(p) as project,
      to_jsonb((array_agg(jsonb_build_object('field', h.field, 'address', h.address)
        order by h.field, h.address))[1:${MAX_MATCHES_PER_AGENT}]) as matches,
      count(*) as matches_total,
      jsonb_build_object(
        'cluster_name', s.cluster->>'cluster_name', 'cluster_context', s.cluster->>'cluster_context',
        'api_endpoint', s.cluster->>'api_endpoint', 'platform', s.cluster->>'platform',
        'region', s.cluster->>'region') as cluster,
      count(*) over () as total
    from hits h
    join read_model.agents ag on ag.id = h.agent_id
    join read_model.projects p on p.id = ag.project_id
    left join read_model.cluster_snapshots s on s.agent_id = ag.id
    where ${readable}
    group by ag.id, p.id, s.agent_id
    order by p.path_with_namespace, ag.name, ag.id
    limit ${page.perPage} offset ${pageOffset(page)}
  `.execute(db);
  const rows = result.rows.map(({ total: _total, ...row }) => row);
  const first = result.rows[0];
  if (first) return { rows, total: first.total };
  // A page past the end has no window total: count on the first page instead.
  if (page.page === 1) return { rows, total: 0 };
  return { rows, total: (await lookUpAgentsByAddress(db, readable, query, { page: 1, perPage: 1 })).total };
}
