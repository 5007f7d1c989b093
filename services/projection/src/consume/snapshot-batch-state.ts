import type { ClusterFacts } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import { type Kysely, sql } from "kysely";
import type { AuditPreviousState } from "../audit/audit-events.ts";
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
 * Everything a batch of snapshots needs to know of one agent before it is applied: whether its
 * collector may still write (`AgentStanding`), what the audit log compares with (the agent, its
 * project, its latest facts) and whether its addresses are indexed (not when deleted).
 */
export type SnapshotAgentState = {
  standing: AgentStanding;
  agent: AuditPreviousState["agent"];
  entity: AuditPreviousState["entity"];
  /** The stored latest snapshot: its stream sequence and facts; null before the first. */
  latest: { seq: number; facts: ClusterFacts } | null;
};

/**
 * The state of each agent, in ONE statement (primary-key and `agent_tokens_agent` index lookups)
 * inside the batch's transaction, after its agent locks: the collector standing check and the
 * audit log's previous state used to be one query each per event. The stored facts come back as
 * the JSON the projection wrote from a validated event, so they are not validated again.
 *
 * ```sql
 * select ids.agent_id, a.id is not null as exists, a.name, a.project_id, p.path_with_namespace,
 *        d.deleted_at, (tokens as json) as tokens, s.stream_seq, s.cluster
 *   from unnest($1::bigint[]) as ids(agent_id)
 *   left join read_model.agents a on a.id = ids.agent_id
 *   left join read_model.projects p on p.id = a.project_id
 *   left join read_model.deleted_agents d on d.agent_id = ids.agent_id
 *   left join read_model.cluster_snapshots s on s.agent_id = ids.agent_id
 * ```
 */
export async function loadSnapshotAgentStates(
  db: Kysely<ReadModelDatabase>,
  agentIds: readonly number[],
): Promise<Map<number, SnapshotAgentState>> {
  const ids = [...new Set(agentIds)];
  const states = new Map<number, SnapshotAgentState>();
  if (ids.length === 0) return states;
  const result = await sql<
    AgentStandingColumns &
      AgentProjectColumns & {
        stream_seq: string | number | null;
        cluster: ClusterFacts | null;
      }
  >`
    select ids.agent_id,
           ${agentStateColumns},
           s.stream_seq,
           s.cluster
      from unnest(${sql.val(ids)}::bigint[]) as ids(agent_id)
      ${agentStateJoins}
      left join read_model.cluster_snapshots s on s.agent_id = ids.agent_id
  `.execute(db);
  for (const row of result.rows) {
    const standing = agentStandingOf(row);
    states.set(standing.agentId, {
      standing,
      ...auditAgentOf(row),
      latest:
        row.stream_seq === null || row.cluster === null
          ? null
          : { seq: Number(row.stream_seq), facts: row.cluster },
    });
  }
  return states;
}
