import { type AgentConnection, CONNECTED_WITHIN_MS } from "@kasmap/contracts";
import { MAX_COLLECTOR_CONNECTIONS_PER_AGENT, type ReadModelDatabase } from "@kasmap/db";
import { type Selectable, sql } from "kysely";
import type { HeartbeatState } from "./deployment-status.ts";
import type { ReadModel } from "./registry-queries.ts";

/**
 * One collector of an agent as the projection recorded it (`read_model.collector_connections`);
 * its `cluster_uid` serves the projection's conflict audit only.
 */
export type CollectorConnectionRow = Omit<
  Selectable<ReadModelDatabase["read_model.collector_connections"]>,
  "agent_id" | "cluster_uid"
>;

/**
 * The most collectors one read looks at: the projection keeps no more per agent (the newest
 * heartbeats', which are the live ones), so a read of the agent stays small.
 */
export const MAX_COLLECTOR_CONNECTIONS_READ = MAX_COLLECTOR_CONNECTIONS_PER_AGENT;

/**
 * The agent's collectors, newest heartbeat first, at most `MAX_COLLECTOR_CONNECTIONS_READ`:
 *
 * ```sql
 * select collector_id, pod_name, …, stopped_at from read_model.collector_connections
 * where agent_id = $1 order by last_heartbeat_at desc, collector_id limit 64
 * ```
 */
export async function loadCollectorConnections(
  db: ReadModel,
  agentId: number,
): Promise<CollectorConnectionRow[]> {
  const rows = await db
    .selectFrom("read_model.collector_connections")
    .select([
      "collector_id",
      "pod_name",
      "pod_ip",
      "namespace",
      "node",
      "version",
      "commit",
      "connected_at",
      "last_heartbeat_at",
      "stopped_at",
    ])
    .where("agent_id", "=", agentId)
    .orderBy("last_heartbeat_at", "desc")
    .orderBy("collector_id")
    .limit(MAX_COLLECTOR_CONNECTIONS_READ)
    .execute();
  return rows.map((row) => ({
    ...row,
    connected_at: new Date(row.connected_at),
    last_heartbeat_at: new Date(row.last_heartbeat_at),
    stopped_at: row.stopped_at === null ? null : new Date(row.stopped_at),
  }));
}

/**
 * What a read needs of an agent's connections: its last heartbeat with whether its silence was
 * confirmed (`read_model.agent_connections`, for `deploymentStatus`), and its collectors.
 */
export type AgentConnectionsRead = HeartbeatState & {
  /** As `loadCollectorConnections`. */
  readonly collectors: CollectorConnectionRow[];
};

/** An agent's connections before its first heartbeat or collector. */
export function neverConnected(): AgentConnectionsRead {
  return { lastHeartbeat: null, silenceConfirmedAt: null, collectors: [] };
}

/**
 * The agents' last heartbeats with their confirmed silences (`read_model.agent_connections`)
 * and their collectors (as
 * `loadCollectorConnections`) in one query, one row per agent asked for, connected or not: a
 * heartbeat changes both, so the gateway reloads them together.
 */
export async function loadConnectionsOfAgents(
  db: ReadModel,
  agentIds: readonly number[],
): Promise<Map<number, AgentConnectionsRead>> {
  const found = new Map<number, AgentConnectionsRead>();
  if (agentIds.length === 0) return found;
  const { rows } = await sql<{
    agent_id: number;
    last_heartbeat_at: Date | string | null;
    disconnected_reported_at: Date | string | null;
    collectors: CollectorJson[];
  }>`
    select
      asked.agent_id, a.last_heartbeat_at, a.disconnected_reported_at,
      coalesce((
        select json_agg(c order by c.last_heartbeat_at desc, c.collector_id)
        from (
          select collector_id, pod_name, pod_ip, namespace, node, version, commit,
                 connected_at, last_heartbeat_at, stopped_at
          from read_model.collector_connections cc where cc.agent_id = asked.agent_id
          order by last_heartbeat_at desc, collector_id limit ${MAX_COLLECTOR_CONNECTIONS_READ}
        ) c
      ), '[]'::json) as collectors
    from unnest(${[...agentIds]}::bigint[]) as asked(agent_id)
    left join read_model.agent_connections a on a.agent_id = asked.agent_id
  `.execute(db);
  for (const row of rows) {
    found.set(row.agent_id, {
      lastHeartbeat: row.last_heartbeat_at == null ? null : new Date(row.last_heartbeat_at),
      silenceConfirmedAt:
        row.disconnected_reported_at == null ? null : new Date(row.disconnected_reported_at),
      collectors: row.collectors.map((c) => ({
        ...c,
        connected_at: new Date(c.connected_at),
        last_heartbeat_at: new Date(c.last_heartbeat_at),
        stopped_at: c.stopped_at === null ? null : new Date(c.stopped_at),
      })),
    });
  }
  return found;
}

/** A collector row as `json_agg` gives it: timestamps as ISO-8601 text. */
type CollectorJson = Omit<CollectorConnectionRow, "connected_at" | "last_heartbeat_at" | "stopped_at"> & {
  connected_at: string;
  last_heartbeat_at: string;
  stopped_at: string | null;
};

/**
 * A collector is live at `nowMs` while it has not said it stopped and its last heartbeat is
 * younger than `CONNECTED_WITHIN_MS` (one from the future, i.e. clock skew, counts as live), as
 * `deployment_status` decides for the agent. Decided per read, so an expired entry needs no
 * deletion racing a late heartbeat.
 */
export function isLiveConnection(row: CollectorConnectionRow, nowMs: number): boolean {
  return row.stopped_at === null && nowMs - row.last_heartbeat_at.getTime() < CONNECTED_WITHIN_MS;
}

/** `cluster_info.connections`: the live collectors, newest heartbeat first (as `rows` come). */
export function liveConnections(rows: readonly CollectorConnectionRow[], nowMs: number): AgentConnection[] {
  return rows
    .filter((row) => isLiveConnection(row, nowMs))
    .map((row) => ({
      collector_id: row.collector_id,
      pod_name: row.pod_name,
      pod_ip: row.pod_ip,
      namespace: row.namespace,
      node: row.node,
      version: row.version,
      commit: row.commit,
      connected_at: row.connected_at.toISOString(),
      last_heartbeat_at: row.last_heartbeat_at.toISOString(),
    }));
}

/**
 * `cluster_info.agent_pod_ip`: the pod IP of the collector with the newest heartbeat, preferring
 * live ones, among those that report one; else the snapshot's (collectors older than issue 11
 * report it only there). `rows` come newest heartbeat first.
 */
export function agentPodIpOf(
  snapshotPodIp: string | null,
  rows: readonly CollectorConnectionRow[],
  nowMs: number,
): string | null {
  const reporting = rows.filter((row) => row.pod_ip !== null);
  const newest = reporting.find((row) => isLiveConnection(row, nowMs)) ?? reporting[0];
  return newest?.pod_ip ?? snapshotPodIp;
}
