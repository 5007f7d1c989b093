import { CONNECTED_WITHIN_MS, type EVENT_TYPES, type EventDataOf } from "@kasmap/contracts";
import { MAX_COLLECTOR_CONNECTIONS_PER_AGENT, type ReadModelDatabase } from "@kasmap/db";
import { type Kysely, type RawBuilder, sql } from "kysely";
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
 * Rows read over a run's heartbeats in the statement that writes them, so in its snapshot: as
 * they were BEFORE the writes. `columns` is a select list over the relation `ids` (the heartbeats,
 * columns named as in `collector_connections`, one row each, among them `agent_id`) and the
 * relations `joins` adds; it must select `agent_id`.
 */
export type ReadBeforeWrite = { columns: RawBuilder<unknown>; joins: RawBuilder<unknown> };

/** Reads nothing but the agents: for a caller that needs no state. */
const NOTHING_BEFORE: ReadBeforeWrite = { columns: sql`ids.agent_id`, joins: sql`` };

/**
 * Records heartbeats of DISTINCT agents (each agent at most once: an upsert may not touch one
 * row twice) with the effect of `applyClusterHeartbeat` on each, in ONE statement that reads
 * `before` (for a run of heartbeats, what their audit events compare with: the state the writes
 * replace; by default only the agent ids),
 * upserts the agent's connection and the collector's row, and returns the rows read; then, when
 * a collector row was added, one statement that keeps each such agent's
 * `MAX_COLLECTOR_CONNECTIONS_PER_AGENT` newest. Older heartbeats than the stored ones change
 * nothing; `connected_at` restarts after a stop or a silence longer than `CONNECTED_WITHIN_MS`,
 * as there. Reading and writing in one statement saves a round trip per run of a batch's
 * heartbeats (PostgreSQL runs a statement's CTEs on one snapshot: the reads see none of its
 * writes):
 *
 * ```sql
 * with ids as (select * from unnest($1::bigint[], $2::text[], …) as u(agent_id, collector_id, …)),
 *      previous as (select <before.columns> from ids <before.joins>),
 *      agents as (insert into read_model.agent_connections select … from ids
 *                 on conflict (agent_id) do update set …, disconnected_reported_at = null
 *                 where agent_connections.last_heartbeat_at < excluded.last_heartbeat_at),
 *      written as (insert into read_model.collector_connections select … from ids
 *                  on conflict (agent_id, collector_id) do update set …, connected_at = case … end
 *                  where collector_connections.last_heartbeat_at < excluded.last_heartbeat_at
 *                  returning agent_id, (xmax = 0) as inserted)
 * select previous.*, (a collector row of the agent was inserted) as collector_added from previous
 * ```
 */
export async function writeHeartbeats<Before extends { agent_id: string | number }>(
  db: Db,
  heartbeats: readonly HeartbeatData[],
  before: ReadBeforeWrite = NOTHING_BEFORE,
): Promise<Before[]> {
  if (heartbeats.length === 0) return [];
  // The collector's row with the agent connection's `content_hash`. Not `{ ...a, ...b }`: on
  // Node 20 each property a spread is followed by costs ~1 µs (10 µs a row, measured).
  const rows = heartbeats.map((data) =>
    Object.assign(collectorConnectionRow(data), { content_hash: connectionRow(data).content_hash }),
  );
  const table = sql.raw("read_model.collector_connections");
  const result = await sql<Before & { collector_added: boolean }>`
    with ids as (
      select * from ${unnestColumns(rows, "u", HEARTBEAT_COLUMNS)}
    ), previous as (
      select ${before.columns} from ids ${before.joins}
    ), agents as (
      insert into read_model.agent_connections (agent_id, collector_id, last_heartbeat_at, content_hash)
      select agent_id, collector_id, last_heartbeat_at, content_hash from ids
      on conflict (agent_id) do update set
        collector_id = excluded.collector_id,
        last_heartbeat_at = excluded.last_heartbeat_at,
        content_hash = excluded.content_hash,
        -- Connected again: the next silence is a new disconnection to report.
        disconnected_reported_at = null
      where read_model.agent_connections.last_heartbeat_at < excluded.last_heartbeat_at
    ), written as (
      insert into ${table} (agent_id, collector_id, pod_name, pod_ip, namespace, node, version, commit,
                            connected_at, last_heartbeat_at, stopped_at, cluster_uid)
      select agent_id, collector_id, pod_name, pod_ip, namespace, node, version, commit,
             last_heartbeat_at, last_heartbeat_at, stopped_at, cluster_uid
        from ids
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
    )
    select previous.*,
           exists (select 1 from written w where w.agent_id = previous.agent_id and w.inserted) as collector_added
      from previous
  `.execute(db);
  const added = result.rows.filter((row) => row.collector_added).map((row) => Number(row.agent_id));
  await keepNewestCollectors(db, added);
  return result.rows;
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
