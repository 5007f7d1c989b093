import { CONNECTED_WITHIN_MS, type EVENT_TYPES, type EventDataOf } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import { type Kysely, sql } from "kysely";
import { collectorConnectionRow } from "../apply/read-model-rows.ts";
import { unnestColumns } from "../apply/unnest-columns.ts";
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

/** A row selected with `heartbeatStateColumns`. */
export type HeartbeatStateRow = AgentStandingColumns &
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

type HeartbeatData = EventDataOf<typeof EVENT_TYPES.clusterHeartbeat>;

/** The columns of a heartbeat `heartbeatStateColumns` reads. */
const HEARTBEAT_STATE_KEY = {
  agent_id: "bigint",
  collector_id: "text",
  cluster_uid: "text",
  stopped_at: "timestamptz",
  last_heartbeat_at: "timestamptz",
} as const;

/**
 * The select list of one agent's state, over a relation `ids` of heartbeats (columns as
 * `collector_connections` names them: `agent_id`, `collector_id`, `cluster_uid`, `stopped_at`,
 * `last_heartbeat_at`), each agent at most once, joined with `heartbeatStateJoins`: primary-key
 * lookups, the `agent_tokens_agent` index and the collectors' primary key. An agent's collectors
 * are read only where the heartbeat could conflict with one (`clusterConflictEvents`): it reports
 * a `cluster_uid`, is no stop, and another live collector of the agent (not stopped, beating
 * within `CONNECTED_WITHIN_MS`) reports a different one.
 * Elsewhere — nearly always: an agent's collectors run in one cluster — they are null (`[]`),
 * as no conflict event can come of them, and neither PostgreSQL builds their JSON nor the
 * projection parses it.
 */
export const heartbeatStateColumns = sql`ids.agent_id,
           ${agentStateColumns},
           c.last_heartbeat_at,
           case when ids.cluster_uid is not null and ids.stopped_at is null and exists (
             select 1 from read_model.collector_connections o
              where o.agent_id = ids.agent_id and o.collector_id <> ids.collector_id
                and o.cluster_uid <> ids.cluster_uid and o.stopped_at is null
                -- Live: the audit log compares milliseconds, hence the one to spare.
                and o.last_heartbeat_at >= ids.last_heartbeat_at - ${CONNECTED_WITHIN_MS + 1} * interval '1 millisecond')
           then (select json_agg(json_build_object(
                       'collector_id', k.collector_id, 'pod_name', k.pod_name, 'cluster_uid', k.cluster_uid,
                       'connected_at', k.connected_at, 'last_heartbeat_at', k.last_heartbeat_at,
                       'stopped_at', k.stopped_at))
                   from read_model.collector_connections k where k.agent_id = ids.agent_id)
           end as collectors`;

/** The agent, its project, its tombstone and its connection, for `heartbeatStateColumns`. */
export const heartbeatStateJoins = sql`${agentStateJoins}
      left join read_model.agent_connections c on c.agent_id = ids.agent_id`;

/**
 * The state of each heartbeat's agent (each agent at most once), in ONE statement inside the
 * caller's transaction: the collector standing check and the audit log's previous state (agent
 * with project path, last heartbeat, collectors) used to be four queries per heartbeat. A run of
 * heartbeats reads it in the statement that writes them (`writeHeartbeats`); this is the
 * one-event path's.
 *
 * ```sql
 * select ids.agent_id, a.id is not null as exists, a.name, a.project_id, p.path_with_namespace,
 *        d.deleted_at, (tokens as json) as tokens, c.last_heartbeat_at,
 *        case when (another live collector reports another cluster_uid)
 *             then (the agent's collector_connections as json) end
 *   from unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[])
 *        as ids(agent_id, collector_id, cluster_uid, stopped_at, last_heartbeat_at)
 *   left join read_model.agents a on a.id = ids.agent_id
 *   left join read_model.projects p on p.id = a.project_id
 *   left join read_model.deleted_agents d on d.agent_id = ids.agent_id
 *   left join read_model.agent_connections c on c.agent_id = ids.agent_id
 * ```
 */
export async function loadHeartbeatAgentStates(
  db: Kysely<ReadModelDatabase>,
  heartbeats: readonly HeartbeatData[],
): Promise<Map<number, HeartbeatAgentState>> {
  if (heartbeats.length === 0) return new Map();
  const rows = heartbeats.map(collectorConnectionRow);
  const result = await sql<HeartbeatStateRow>`
    select ${heartbeatStateColumns}
      from ${unnestColumns(rows, "ids", HEARTBEAT_STATE_KEY)}
      ${heartbeatStateJoins}
  `.execute(db);
  return heartbeatAgentStates(result.rows);
}

/** The states of rows selected with `heartbeatStateColumns`, by agent. */
export function heartbeatAgentStates(rows: readonly HeartbeatStateRow[]): Map<number, HeartbeatAgentState> {
  const states = new Map<number, HeartbeatAgentState>();
  for (const row of rows) {
    const standing = agentStandingOf(row);
    const { agent, entity } = auditAgentOf(row);
    states.set(standing.agentId, {
      standing,
      // Written out, not `{ ...auditAgentOf(row), … }`: on Node 20 each property a spread is
      // followed by costs ~1 µs, and every heartbeat of a batch builds one of these.
      previous: {
        agent,
        entity,
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
