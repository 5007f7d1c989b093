import { CONNECTED_WITHIN_MS, type EVENT_TYPES, type EventDataOf } from "@kasmap/contracts";
import { MAX_COLLECTOR_CONNECTIONS_PER_AGENT, type ReadModelDatabase } from "@kasmap/db";
import { type Kysely, sql } from "kysely";
import { collectorConnectionRow, connectionRow } from "./read-model-rows.ts";
import { unnestColumns } from "./unnest-columns.ts";

type Db = Kysely<ReadModelDatabase>;
type HeartbeatData = EventDataOf<typeof EVENT_TYPES.clusterHeartbeat>;

/** A heartbeat's columns, in the order `writeHeartbeats` sends them, with their array types. */
const HEARTBEAT_COLUMNS = {
  agent_id: "bigint",
  collector_id: "text",
  content_hash: "text",
  pod_name: "text",
  pod_ip: "text",
  namespace: "text",
  node: "text",
  version: "text",
  commit: "text",
  last_heartbeat_at: "timestamptz",
  stopped_at: "timestamptz",
  cluster_uid: "text",
} as const;

/**
 * Records heartbeats of DISTINCT agents (each agent at most once: an upsert may not touch one
 * row twice) with the effect of `applyClusterHeartbeat` on each, in ONE statement that upserts
 * the agent's connection and the collector's row; then, when a collector row was added, one
 * statement that keeps each such agent's `MAX_COLLECTOR_CONNECTIONS_PER_AGENT` newest. Older
 * heartbeats than the stored ones change nothing; `connected_at` restarts after a stop or a
 * silence longer than `CONNECTED_WITHIN_MS`, as there:
 *
 * ```sql
 * with input as (select * from unnest($1::bigint[], $2::text[], …) as u(agent_id, collector_id, …)),
 *      agents as (insert into read_model.agent_connections select … from input
 *                 on conflict (agent_id) do update set …, disconnected_reported_at = null
 *                 where agent_connections.last_heartbeat_at < excluded.last_heartbeat_at)
 * insert into read_model.collector_connections select … from input
 * on conflict (agent_id, collector_id) do update set …, connected_at = case … end
 * where collector_connections.last_heartbeat_at < excluded.last_heartbeat_at
 * returning agent_id, (xmax = 0) as inserted
 * ```
 */
export async function writeHeartbeats(db: Db, heartbeats: readonly HeartbeatData[]): Promise<void> {
  if (heartbeats.length === 0) return;
  const rows = heartbeats.map((data) => ({ ...connectionRow(data), ...collectorConnectionRow(data) }));
  const table = sql.raw("read_model.collector_connections");
  const written = await sql<{ agent_id: string | number; inserted: boolean }>`
    with input as (
      select * from ${unnestColumns(rows, "u", HEARTBEAT_COLUMNS)}
    ), agents as (
      insert into read_model.agent_connections (agent_id, collector_id, last_heartbeat_at, content_hash)
      select agent_id, collector_id, last_heartbeat_at, content_hash from input
      on conflict (agent_id) do update set
        collector_id = excluded.collector_id,
        last_heartbeat_at = excluded.last_heartbeat_at,
        content_hash = excluded.content_hash,
        -- Connected again: the next silence is a new disconnection to report.
        disconnected_reported_at = null
      where read_model.agent_connections.last_heartbeat_at < excluded.last_heartbeat_at
    )
    insert into ${table} (agent_id, collector_id, pod_name, pod_ip, namespace, node, version, commit,
                          connected_at, last_heartbeat_at, stopped_at, cluster_uid)
    select agent_id, collector_id, pod_name, pod_ip, namespace, node, version, commit,
           last_heartbeat_at, last_heartbeat_at, stopped_at, cluster_uid
      from input
    on conflict (agent_id, collector_id) do update set
      pod_name = excluded.pod_name,
      pod_ip = excluded.pod_ip,
      namespace = excluded.namespace,
      node = excluded.node,
      version = excluded.version,
      commit = excluded.commit,
      last_heartbeat_at = excluded.last_heartbeat_at,
      stopped_at = excluded.stopped_at,
      cluster_uid = excluded.cluster_uid,
      connected_at = case when ${table}.stopped_at is not null
          or ${table}.last_heartbeat_at < excluded.last_heartbeat_at - ${CONNECTED_WITHIN_MS} * interval '1 millisecond'
        then excluded.connected_at else ${table}.connected_at end
    where ${table}.last_heartbeat_at < excluded.last_heartbeat_at
    -- xmax = 0: the row was inserted, not updated (PostgreSQL's marker of a fresh tuple).
    returning agent_id, (xmax = 0) as inserted
  `.execute(db);
  const added = written.rows.filter((row) => row.inserted).map((row) => Number(row.agent_id));
  await keepNewestCollectors(db, added);
}

/**
 * Deletes each agent's collector rows beyond the `MAX_COLLECTOR_CONNECTIONS_PER_AGENT` newest
 * heartbeats, in the transaction that added one (a collector's credentials let it invent
 * collector ids; each would otherwise stay a row for good). A replay applies the same heartbeats
 * in the same order, so it keeps the same rows.
 *
 * ```sql
 * delete from read_model.collector_connections c using (
 *   select agent_id, collector_id, row_number() over (partition by agent_id
 *          order by last_heartbeat_at desc, collector_id) as rank
 *     from read_model.collector_connections where agent_id = any($1::bigint[])) ranked
 * where c.agent_id = ranked.agent_id and c.collector_id = ranked.collector_id and ranked.rank > 64
 * ```
 */
async function keepNewestCollectors(db: Db, agentIds: readonly number[]): Promise<void> {
  if (agentIds.length === 0) return;
  await sql`
    delete from read_model.collector_connections c using (
      select agent_id, collector_id,
             row_number() over (partition by agent_id order by last_heartbeat_at desc, collector_id) as rank
        from read_model.collector_connections
       where agent_id = any(${sql.val([...new Set(agentIds)])}::bigint[])
    ) ranked
    where c.agent_id = ranked.agent_id and c.collector_id = ranked.collector_id
      and ranked.rank > ${MAX_COLLECTOR_CONNECTIONS_PER_AGENT}
  `.execute(db);
}
