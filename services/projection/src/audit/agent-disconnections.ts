import type { Bus } from "@kasmap/bus";
import { CONNECTED_WITHIN_MS } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import type { Logger } from "@kasmap/logging";
import { startPeriodicTask } from "@kasmap/runtime";
import { type Kysely, sql } from "kysely";
import { publishChangeNotices } from "../notify/change-notices.ts";
import { agentsWithUnreadHeartbeats, heartbeatCheckpointOf } from "./agents-with-unread-heartbeats.ts";
import { lockAuditLogsOfAgents } from "./audit-event-store.ts";
import { disconnectedAuditEvent, type SilentAgent } from "./audit-events.ts";

type Db = Kysely<ReadModelDatabase>;

/** How often, in milliseconds, the projection looks for agents that went silent. */
export const DISCONNECTION_SWEEP_INTERVAL_MS = 30_000;

/** What one sweep did. */
export type DisconnectionSweep = {
  /** Agents recorded disconnected. */
  recorded: number;
  /**
   * Silent agents left to a later sweep: the heartbeat stream holds heartbeats of theirs the
   * projection has not read yet (`agentsWithUnreadHeartbeats`), so their silence is its lag.
   */
  deferred: number;
};

/**
 * Records `cluster_agent_disconnected` for every projected agent whose last heartbeat is
 * `CONNECTED_WITHIN_MS` or more before `now` (when the gateway starts calling it `disconnected`),
 * whose silence was not reported yet, and whose heartbeats the projection has all read: an agent
 * with a heartbeat still waiting in the stream past its heartbeat consumer's checkpoint
 * (`agentsWithUnreadHeartbeats`, asked of `bus`) is deferred, since its last applied heartbeat
 * then only says how far behind the projection is (a flood, a backlog after a restart, a slow
 * database). Marks each recorded agent reported; the next heartbeat clears the mark. The mark
 * is what the gateway's `deployment_status` shows as `disconnected` (before it, an agent whose
 * last heartbeat is `CONNECTED_WITHIN_MS` old is `unknown`), so after the commit a change notice
 * per marked agent (`agent_connections`, its heartbeat checkpoint as the position) drops the
 * gateways' cached connections. No event announces a collector's death, hence a sweep. The
 * silent agents are read first, then the stream; then one transaction:
 *
 * ```sql
 * select c.agent_id from read_model.agent_connections c
 *   join read_model.agents a on a.id = c.agent_id   -- deleted agents: their deletion says it
 * where c.last_heartbeat_at <= $cutoff and c.disconnected_reported_at is null order by c.agent_id;
 * -- agentsWithUnreadHeartbeats, then in one transaction, for the others:
 * -- the agents' audit locks (lockAuditLogsOfAgents), before any row lock, as the consumers do
 * with marked as (
 *   update read_model.agent_connections c set disconnected_reported_at = $now
 *   where c.agent_id = any($ids) and c.last_heartbeat_at <= $cutoff
 *     and c.disconnected_reported_at is null   -- rechecked under the row lock: a heartbeat or
 *   returning c.agent_id, c.collector_id, c.last_heartbeat_at   -- another sweeper may have won
 * )
 * select m.*, a.project_id, p.path_with_namespace from marked m
 *   join read_model.agents a on a.id = m.agent_id
 *   left join read_model.projects p on p.id = a.project_id;
 * insert into read_model.audit_events (event_id, …) values (…)   -- `disconnectedAuditEvent`
 * on conflict (event_id) do nothing;
 * ```
 *
 * @param now the sweep's time; tests pass their own instead of waiting on the timer.
 */
export async function recordAgentDisconnections(db: Db, now: Date, bus: Bus): Promise<DisconnectionSweep> {
  const cutoff = new Date(now.getTime() - CONNECTED_WITHIN_MS);
  const silent = await db
    .selectFrom("read_model.agent_connections as c")
    .innerJoin("read_model.agents as a", "a.id", "c.agent_id")
    .select("c.agent_id")
    .where("c.last_heartbeat_at", "<=", cutoff)
    .where("c.disconnected_reported_at", "is", null)
    .orderBy("c.agent_id")
    .execute();
  if (silent.length === 0) return { recorded: 0, deferred: 0 };
  const silentIds = silent.map((c) => Number(c.agent_id));
  const { unread, checkpoints } = await agentsWithUnreadHeartbeats(db, bus, silentIds);
  const ids = silentIds.filter((id) => !unread.has(id));
  const marked =
    ids.length === 0 ? [] : await db.transaction().execute((trx) => markDisconnected(trx, ids, cutoff, now));
  // The gateway shows a silence as `disconnected` only once marked (before: `unknown`): its
  // cached connections of these agents are stale now.
  const stream = bus.topology.streamNames.heartbeat;
  publishChangeNotices(
    bus,
    marked.map((agentId) => ({
      table: "agent_connections",
      agent_id: agentId,
      stream,
      seq: Math.max(1, heartbeatCheckpointOf(checkpoints, agentId)),
    })),
  );
  return { recorded: marked.length, deferred: unread.size };
}

/**
 * The transaction of `recordAgentDisconnections` for the agents `ids`: marks those still silent
 * since `cutoff` and not reported, and records their audit events. Returns the agents it marked.
 */
async function markDisconnected(trx: Db, ids: number[], cutoff: Date, now: Date): Promise<number[]> {
  await lockAuditLogsOfAgents(trx, ids);
  const marked = await sql<{
    agent_id: string | number;
    collector_id: string;
    last_heartbeat_at: Date;
    project_id: string | number;
    path_with_namespace: string | null;
  }>`
    with marked as (
      update read_model.agent_connections c set disconnected_reported_at = ${now}
      where c.agent_id = any(${sql.val(ids)}::bigint[]) and c.last_heartbeat_at <= ${cutoff}
        and c.disconnected_reported_at is null
      returning c.agent_id, c.collector_id, c.last_heartbeat_at
    )
    select m.agent_id, m.collector_id, m.last_heartbeat_at, a.project_id, p.path_with_namespace
    from marked m
    join read_model.agents a on a.id = m.agent_id
    left join read_model.projects p on p.id = a.project_id
    order by m.agent_id
  `.execute(trx);
  if (marked.rows.length === 0) return [];
  const drafts = marked.rows.map((row) => {
    const agent: SilentAgent = {
      agent_id: Number(row.agent_id),
      collector_id: row.collector_id,
      last_heartbeat_at: new Date(row.last_heartbeat_at).toISOString(),
      entity: { id: Number(row.project_id), path: row.path_with_namespace },
    };
    return disconnectedAuditEvent(agent);
  });
  await trx
    .insertInto("read_model.audit_events")
    .values(drafts.map((d) => ({ ...d, details: JSON.stringify(d.details), stream: null, stream_seq: null })))
    .onConflict((oc) => oc.column("event_id").doNothing())
    .execute();
  return marked.rows.map((row) => Number(row.agent_id));
}

export type DisconnectionSweeper = {
  /** Stops the timer and waits for a sweep in progress. */
  stop(): Promise<void>;
};

/**
 * Runs `recordAgentDisconnections` every `intervalMs` (never two at once), logging the agents it
 * recorded and those it deferred. A failed sweep is logged and the next one retries: nothing was
 * committed, and the event ids are deterministic.
 */
export function startDisconnectionSweeper(
  db: Db,
  bus: Bus,
  logger: Logger,
  intervalMs: number = DISCONNECTION_SWEEP_INTERVAL_MS,
): DisconnectionSweeper {
  return startPeriodicTask(async () => {
    try {
      const sweep = await recordAgentDisconnections(db, new Date(), bus);
      if (sweep.recorded > 0) logger.info({ agents: sweep.recorded }, "recorded agent disconnections");
      if (sweep.deferred > 0) {
        logger.info(
          { agents: sweep.deferred },
          "agent disconnections deferred: the projection has not read their newest heartbeats yet",
        );
      }
    } catch (error) {
      logger.warn({ err: error }, "agent disconnection sweep failed; retrying at the next interval");
    }
  }, intervalMs);
}
