import { KasmapError } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import { type Kysely, sql } from "kysely";
import type { AuditPreviousState } from "../audit/audit-events.ts";

/**
 * What the read model knows of an agent, to decide whether its collector may still write
 * (issue 7.6 e): the agent row, its deletion tombstone and its tokens.
 */
export type AgentStanding = {
  agentId: number;
  /** A `read_model.agents` row exists. */
  exists: boolean;
  /** When the deletion in force was made; null when the agent is not deleted (or came back). */
  deletedAt: Date | null;
  /**
   * The deletions the agent came back from (GitLab mode: its project left the mirrored root group
   * and returned): each from its `deleted_at` to when the server stored the revival.
   */
  pastDeletions: readonly { from: Date; until: Date }[];
  tokens: readonly { status: "active" | "revoked"; revokedAt: Date | null }[];
};

export type CollectorVerdict =
  | { kind: "accept" }
  | { kind: "refuse"; reason: string }
  /**
   * Stored after the deletion in force: refused, unless the registry consumer has yet to apply
   * a revival that came before it (its stream is consumed independently and may lag behind).
   */
  | { kind: "deleted"; reason: string }
  /** The registry may not have been applied this far yet: retry later. */
  | { kind: "wait"; reason: string };

/**
 * Whether a collector event of the agent, stored by the server at `storedAt`, may be applied.
 * Deleting the agent or revoking its last token takes effect for every event stored after it,
 * however the collector behaves; events stored before it stay valid, so replaying the log gives
 * the same answers. An agent that came back takes events stored after its revival again, while
 * those stored during any of its deletions stay refused; an event stored after the deletion in
 * force is `deleted` (a revival may be still to come on the registry stream). An agent (or
 * token) the read model does not know yet is "wait": the registry stream is consumed
 * independently and may lag behind the cluster streams.
 */
export function collectorVerdict(standing: AgentStanding, storedAt: Date): CollectorVerdict {
  const agent = standing.agentId;
  if (standing.deletedAt !== null && storedAt >= standing.deletedAt) {
    return { kind: "deleted", reason: `agent ${agent} was deleted at ${standing.deletedAt.toISOString()}` };
  }
  const past = standing.pastDeletions.find(({ from, until }) => storedAt >= from && storedAt < until);
  if (past !== undefined) {
    return {
      kind: "refuse",
      reason: `agent ${agent} was deleted from ${past.from.toISOString()} until ${past.until.toISOString()}`,
    };
  }
  if (!standing.exists && standing.deletedAt === null) {
    return { kind: "wait", reason: `agent ${agent} is not in the read model` };
  }
  if (standing.tokens.length === 0) {
    return { kind: "wait", reason: `agent ${agent} has no token in the read model` };
  }
  const valid = standing.tokens.some(
    (t) => t.status === "active" || (t.revokedAt !== null && t.revokedAt > storedAt),
  );
  if (valid) return { kind: "accept" };
  const last = Math.max(...standing.tokens.map((t) => t.revokedAt?.getTime() ?? 0));
  return {
    kind: "refuse",
    reason: `every token of agent ${agent} was revoked (the last at ${new Date(last).toISOString()})`,
  };
}

/**
 * Throws unless a collector event of the agent, stored at `storedAt`, may be applied, as a batch's
 * transaction must (the screen ran before it, so only a change committed since can refuse):
 * `poison_event` for an agent deleted or without a valid token, so the batch is applied event by
 * event and the refused one dead-lettered; a plain error, so the batch is retried, for an agent
 * the read model does not know (only a rebuild in between can make it unknown again).
 */
export function assertCollectorMayWrite(standing: AgentStanding, storedAt: Date): void {
  const verdict = collectorVerdict(standing, storedAt);
  if (verdict.kind === "refuse" || verdict.kind === "deleted")
    throw new KasmapError("poison_event", verdict.reason);
  if (verdict.kind === "wait") throw new Error(`waiting for the registry: ${verdict.reason}`);
}

/** An agent the read model does not know: `collectorVerdict` says "wait". */
export function unknownAgentStanding(agentId: number): AgentStanding {
  return { agentId, exists: false, deletedAt: null, pastDeletions: [], tokens: [] };
}

/** The standing columns of a row of a query over `unnest(…) as ids(agent_id)`. */
export type AgentStandingColumns = {
  agent_id: string | number;
  exists: boolean;
  /** The tombstone's `deleted_at`, `revived_at` and `past_deletions` (migration 026). */
  deleted_at: Date | null;
  revived_at: Date | null;
  past_deletions: { from: string; until: string }[] | null;
  tokens: { status: "active" | "revoked"; revoked_at: string | null }[];
};

/** The agent and project columns of such a query (`agents` and `projects` left-joined). */
export type AgentProjectColumns = {
  exists: boolean;
  name: string | null;
  project_id: string | number | null;
  path_with_namespace: string | null;
};

/** The audit log's agent and entity (its project) from `AgentProjectColumns`; null when unknown. */
export function auditAgentOf(row: AgentProjectColumns): Pick<AuditPreviousState, "agent" | "entity"> {
  const projectId = row.project_id === null ? null : Number(row.project_id);
  if (!row.exists || projectId === null) return { agent: null, entity: null };
  return {
    agent: row.name === null ? null : { name: row.name, projectId },
    entity: { id: projectId, path: row.path_with_namespace },
  };
}

/**
 * The `tokens` column of such a query: the agent's tokens as a JSON array (`agent_tokens_agent`
 * index), `[]` when it has none.
 */
export const agentTokensColumn = sql<AgentStandingColumns["tokens"]>`
  coalesce((select json_agg(json_build_object('status', t.status, 'revoked_at', t.revoked_at))
              from read_model.agent_tokens t where t.agent_id = ids.agent_id), '[]'::json)`;

/**
 * The `AgentStandingColumns` and `AgentProjectColumns` of a query over `unnest(…) as ids(agent_id)`
 * joined with `agentStateJoins`.
 */
export const agentStateColumns = sql`a.id is not null as exists, a.name, a.project_id, p.path_with_namespace,
           d.deleted_at, d.revived_at, d.past_deletions, ${agentTokensColumn} as tokens`;

/** The agent, its project and its deletion tombstone, for `agentStateColumns`. */
export const agentStateJoins = sql`left join read_model.agents a on a.id = ids.agent_id
      left join read_model.projects p on p.id = a.project_id
      left join read_model.deleted_agents d on d.agent_id = ids.agent_id`;

export function agentStandingOf(row: AgentStandingColumns): AgentStanding {
  const deletedAt = row.deleted_at;
  const revivedAt = row.revived_at;
  return {
    agentId: Number(row.agent_id),
    exists: row.exists,
    deletedAt: revivedAt === null ? deletedAt : null,
    pastDeletions: [
      ...(row.past_deletions ?? []).map((past) => ({
        from: new Date(past.from),
        until: new Date(past.until),
      })),
      ...(deletedAt !== null && revivedAt !== null ? [{ from: deletedAt, until: revivedAt }] : []),
    ],
    tokens: row.tokens.map((t) => ({
      status: t.status,
      revokedAt: t.revoked_at === null ? null : new Date(t.revoked_at),
    })),
  };
}

/**
 * The standing of each agent, in one statement (primary-key and `agent_tokens_agent` index
 * lookups): runs inside the caller's transaction when given one.
 */
export async function loadAgentStandings(
  db: Kysely<ReadModelDatabase>,
  agentIds: readonly number[],
): Promise<Map<number, AgentStanding>> {
  const ids = [...new Set(agentIds)];
  if (ids.length === 0) return new Map();
  const result = await sql<AgentStandingColumns>`
    select ids.agent_id,
           exists (select 1 from read_model.agents a where a.id = ids.agent_id) as exists,
           d.deleted_at, d.revived_at, d.past_deletions,
           ${agentTokensColumn} as tokens
      from unnest(${sql.val(ids)}::bigint[]) as ids(agent_id)
      left join read_model.deleted_agents d on d.agent_id = ids.agent_id
  `.execute(db);
  return new Map(result.rows.map((row) => [Number(row.agent_id), agentStandingOf(row)]));
}
