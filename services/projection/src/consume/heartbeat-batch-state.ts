import type { ReadModelDatabase } from "@kasmap/db";
import { type Kysely, sql } from "kysely";
import type { AuditPreviousState, StoredCollector } from "../audit/audit-events.ts";
import {
  type AgentProjectColumns,
  type AgentStanding,
  type AgentStandingColumns,
  agentStandingOf,
  agentStateColumns,
  agentStateJoins,
  auditAgentOf,
} from "./collector-standing.ts";

/**
 * Everything a run of heartbeats needs to know of one agent before it is applied: whether its
 * collector may still write (`AgentStanding`) and what the audit log compares a heartbeat with
 * (`AuditPreviousState`: the agent, its project, its last heartbeat, its collectors).
 */
export type HeartbeatAgentState = {
  standing: AgentStanding;
  previous: AuditPreviousState;
};

type StateRow = AgentStandingColumns &
  AgentProjectColumns & {
    last_heartbeat_at: Date | null;
    collectors: CollectorJson[] | null;
  };

/** A `collector_connections` row as `json_build_object` gives it (PostgreSQL's time format). */
type CollectorJson = Omit<StoredCollector, "connected_at" | "last_heartbeat_at" | "stopped_at"> & {
  connected_at: string;
  last_heartbeat_at: string;
  stopped_at: string | null;
};

/**
 * The state of each agent, in ONE statement (primary-key lookups, the `agent_tokens_agent` index
 * and the collectors' primary key) inside the batch's transaction, after its agent locks: the
 * collector standing check and the audit log's previous state (agent with project path, last
 * heartbeat, collectors) used to be four queries per heartbeat. `withCollectors` names the
 * agents whose collectors are read (those of heartbeats that report a `cluster_uid`: the others
 * cannot conflict, `clusterConflictEvents`); the rest get `[]`, as `loadAuditPreviousState` gives.
 *
 * ```sql
 * select ids.agent_id, a.id is not null as exists, a.name, a.project_id, p.path_with_namespace,
 *        d.deleted_at, (tokens as json) as tokens, c.last_heartbeat_at,
 *        case when ids.with_collectors then (the agent's collector_connections as json) end
 *   from unnest($1::bigint[], $2::boolean[]) as ids(agent_id, with_collectors)
 *   left join read_model.agents a on a.id = ids.agent_id
 *   left join read_model.projects p on p.id = a.project_id
 *   left join read_model.deleted_agents d on d.agent_id = ids.agent_id
 *   left join read_model.agent_connections c on c.agent_id = ids.agent_id
 * ```
 */
export async function loadHeartbeatAgentStates(
  db: Kysely<ReadModelDatabase>,
  agentIds: readonly number[],
  withCollectors: ReadonlySet<number>,
): Promise<Map<number, HeartbeatAgentState>> {
  const ids = [...new Set(agentIds)];
  const states = new Map<number, HeartbeatAgentState>();
  if (ids.length === 0) return states;
  const result = await sql<StateRow>`
    select ids.agent_id,
           ${agentStateColumns},
           c.last_heartbeat_at,
           case when ids.with_collectors then coalesce(
             (select json_agg(json_build_object(
                       'collector_id', k.collector_id, 'pod_name', k.pod_name, 'cluster_uid', k.cluster_uid,
                       'connected_at', k.connected_at, 'last_heartbeat_at', k.last_heartbeat_at,
                       'stopped_at', k.stopped_at))
                from read_model.collector_connections k where k.agent_id = ids.agent_id),
             '[]'::json) end as collectors
      from unnest(${sql.val(ids)}::bigint[], ${sql.val(ids.map((id) => withCollectors.has(id)))}::boolean[])
           as ids(agent_id, with_collectors)
      ${agentStateJoins}
      left join read_model.agent_connections c on c.agent_id = ids.agent_id
  `.execute(db);
  for (const row of result.rows) {
    const standing = agentStandingOf(row);
    states.set(standing.agentId, {
      standing,
      previous: {
        ...auditAgentOf(row),
        tokenStatus: null,
        snapshot: null,
        lastHeartbeatAt:
          row.last_heartbeat_at === null ? null : new Date(row.last_heartbeat_at).toISOString(),
        collectors: (row.collectors ?? []).map(storedCollector),
      },
    });
  }
  return states;
}

/** A collector row as JSON with its times as ISO-8601, as the audit log compares them. */
function storedCollector(c: CollectorJson): StoredCollector {
  const iso = (t: string) => new Date(t).toISOString();
  return {
    collector_id: c.collector_id,
    pod_name: c.pod_name,
    cluster_uid: c.cluster_uid,
    connected_at: iso(c.connected_at),
    last_heartbeat_at: iso(c.last_heartbeat_at),
    stopped_at: c.stopped_at === null ? null : iso(c.stopped_at),
  };
}
