import { type RawBuilder, sql } from "kysely";
import type { ProjectFilter } from "../access/access-source.ts";
import { type PageRequest, pageOffset } from "../http/pagination.ts";
import type { AgentRow } from "./agent-queries.ts";
import type { GroupRow, ProjectRow, ReadModel } from "./registry-queries.ts";

/** Rows as `to_jsonb` renders them: timestamps arrive as ISO strings, not `Date`. */
type AsJson<T> = Omit<T, "created_at"> & { created_at: string };
export type GroupAgent = { agent: AsJson<AgentRow>; project: AsJson<ProjectRow> };

/** Which configuration projects a group listing covers. */
export type GroupScope = { group: Pick<GroupRow, "id">; includeSubgroups: boolean };

/** One inventory line: the agent, its configuration project path and its cluster's summary. */
export type InventoryRow = {
  agent_id: number;
  agent_name: string;
  project_path: string;
  cluster_name: string | null;
  cluster_context: string | null;
  api_endpoint: string | null;
  api_endpoint_ip: string | null;
  platform: string | null;
  region: string | null;
  /** As the collector reported it (text: a count beyond 32 bits must not fail an `::int` cast). */
  node_count: string | null;
  internal_ip_count: number | null;
  external_ip_count: number | null;
  /** Space-separated, as the cluster reported them (IPv4 first). */
  pod_cidrs: string | null;
  service_cidrs: string | null;
  last_heartbeat_at: Date | null;
  /** When the projection confirmed the silence of `last_heartbeat_at` (`deploymentStatus`). */
  disconnected_reported_at: Date | null;
};

/**
 * Configuration projects directly in the group (`namespace_id = $g`), or anywhere in its subtree
 * (`traversal_ids @> array[$g]`, the GIN index `projects_traversal_ids`), within `readable` (the
 * projects whose agents the caller may read: the access source's `projectsWhere`).
 */
function scopeSql(scope: GroupScope, readable: ProjectFilter): RawBuilder<boolean> {
  const inGroup = scope.includeSubgroups
    ? sql`p.traversal_ids @> array[${scope.group.id}]::int[]`
    : sql`p.namespace_id = ${scope.group.id}`;
  return sql<boolean>`${inGroup} and ${readable}`;
}

/**
 * One page of the group's agents with their configuration projects, ordered by project path,
 * agent name, id (ids break ties so pages never overlap), total from `count(*) over ()`.
 */
export async function listGroupAgents(
  db: ReadModel,
  readable: ProjectFilter,
  scope: GroupScope,
  page: PageRequest,
): Promise<{ agents: GroupAgent[]; total: number }> {
  const result = await sql<GroupAgent & { total: number }>`
    select to_jsonb(ag) as agent, to_jsonb(p) as project, count(*) over () as total
    from read_model.agents ag join read_model.projects p on p.id = ag.project_id
    where ${scopeSql(scope, readable)}
    order by p.path_with_namespace, ag.name, ag.id
    limit ${page.perPage} offset ${pageOffset(page)}
  `.execute(db);
  const first = result.rows[0];
  const agents = result.rows.map(({ agent, project }) => ({ agent, project }));
  if (first) return { agents, total: first.total };
  return { agents, total: page.page === 1 ? 0 : await countGroupAgents(db, readable, scope) };
}

async function countGroupAgents(db: ReadModel, readable: ProjectFilter, scope: GroupScope): Promise<number> {
  const result = await sql<{ n: number }>`
    select count(*) as n from read_model.agents ag join read_model.projects p on p.id = ag.project_id
    where ${scopeSql(scope, readable)}
  `.execute(db);
  return result.rows[0]?.n ?? 0;
}

/**
 * Every agent of the group (not paginated: an export), with the summary computed in SQL from the
 * snapshot's jsonb, so node lists of large clusters never leave the database.
 */
export async function groupInventory(
  db: ReadModel,
  readable: ProjectFilter,
  scope: GroupScope,
): Promise<InventoryRow[]> {
  const cidrs = (key: string) =>
    sql`(select string_agg(x, ' ') from jsonb_array_elements_text(s.cluster->${sql.lit(key)}) x)`;
  const result = await sql<InventoryRow>`
    select ag.id as agent_id, ag.name as agent_name, p.path_with_namespace as project_path,
      s.cluster->>'cluster_name' as cluster_name, s.cluster->>'cluster_context' as cluster_context,
      s.cluster->>'api_endpoint' as api_endpoint, s.cluster->>'api_endpoint_ip' as api_endpoint_ip,
      s.cluster->>'platform' as platform, s.cluster->>'region' as region,
      s.cluster->>'node_count' as node_count,
      jsonb_array_length(s.cluster->'node_ips'->'internal') as internal_ip_count,
      jsonb_array_length(s.cluster->'node_ips'->'external') as external_ip_count,
      ${cidrs("pod_cidrs")} as pod_cidrs, ${cidrs("service_cidrs")} as service_cidrs,
      c.last_heartbeat_at, c.disconnected_reported_at
    from read_model.agents ag join read_model.projects p on p.id = ag.project_id
    left join read_model.cluster_snapshots s on s.agent_id = ag.id
    left join read_model.agent_connections c on c.agent_id = ag.id
    where ${scopeSql(scope, readable)}
    order by p.path_with_namespace, ag.name, ag.id
  `.execute(db);
  return result.rows;
}
