import type { StreamPosition } from "@kasmap/contracts";
import { agentIdOfEvent, EVENT_TYPES, type KasmapEvent } from "@kasmap/contracts";
import { loadClusterFacts, type ReadModelDatabase } from "@kasmap/db";
import { type Kysely, sql } from "kysely";
import { loadHeartbeatAgentStates } from "../consume/heartbeat-batch-state.ts";
import { type AuditEventDraft, type AuditPreviousState, NO_PREVIOUS_STATE } from "./audit-events.ts";

type Db = Kysely<ReadModelDatabase>;

/**
 * Reads what `auditEventsFor` compares an event with, before the event is applied (applying
 * overwrites it). Events that never yield audit events read nothing. The transaction must
 * hold the event's agent lock first (`lockAgentAuditLogs`).
 */
export async function loadAuditPreviousState(db: Db, event: KasmapEvent): Promise<AuditPreviousState> {
  switch (event.type) {
    case EVENT_TYPES.agentChanged: {
      const agent = await loadAgent(db, event.data.agent.id);
      const path = await projectPath(db, event.data.agent.project_id);
      return { ...NO_PREVIOUS_STATE, agent, entity: { id: event.data.agent.project_id, path } };
    }
    case EVENT_TYPES.agentChangeRefused: {
      const path = await projectPath(db, event.data.project_id);
      return { ...NO_PREVIOUS_STATE, entity: { id: event.data.project_id, path } };
    }
    case EVENT_TYPES.authzChanged: {
      const path = await projectPath(db, event.data.config_project_id);
      return { ...NO_PREVIOUS_STATE, entity: { id: event.data.config_project_id, path } };
    }
    case EVENT_TYPES.agentTokenChanged: {
      const token = await db
        .selectFrom("read_model.agent_tokens")
        .select("status")
        .where("id", "=", event.data.token.id)
        .executeTakeFirst();
      return { ...(await agentState(db, event.data.token.agent_id)), tokenStatus: token?.status ?? null };
    }
    case EVENT_TYPES.clusterSnapshot: {
      const snapshot = await loadClusterFacts(db, event.data.agent_id);
      return { ...(await agentState(db, event.data.agent_id)), snapshot };
    }
    case EVENT_TYPES.clusterHeartbeat: {
      const states = await loadHeartbeatAgentStates(db, [event.data]);
      return states.get(event.data.agent_id)?.previous ?? NO_PREVIOUS_STATE;
    }
    default:
      return NO_PREVIOUS_STATE;
  }
}

/**
 * Serialises, per agent, the transactions that write its audit events: the consumers of
 * different streams run concurrently, and without it a snapshot's transaction could read "no
 * agent yet" while the agent's own transaction adopts orphans before the snapshot's row is
 * visible, leaving that row without a project for good. Takes the locks of every agent the
 * events name, once each, in ascending agent id: a batch holds several agents' locks until it
 * commits, and two batches taking them in different orders could deadlock. The key is a
 * 64-bit hash (a collision only serialises two agents):
 *
 * ```sql
 * select pg_advisory_xact_lock(hashtextextended('kasmap.audit.agent:' || id, 0))
 * from unnest($1::int[]) as id   -- sorted ids: a function scan keeps array order
 * ```
 */
export async function lockAgentAuditLogs(db: Db, events: readonly KasmapEvent[]): Promise<void> {
  const ids = new Set<number>();
  for (const event of events) {
    const agentId = agentIdOfEvent(event);
    if (agentId !== null) ids.add(agentId);
  }
  await lockAuditLogsOfAgents(db, ids);
}

/** `lockAgentAuditLogs` for agents named by id (the disconnection sweeper's). */
export async function lockAuditLogsOfAgents(db: Db, agentIds: Iterable<number>): Promise<void> {
  const sorted = [...new Set(agentIds)].sort((a, b) => a - b);
  if (sorted.length === 0) return;
  await sql`select pg_advisory_xact_lock(hashtextextended('kasmap.audit.agent:' || id, 0))
    from unnest(${sql.val(sorted)}::int[]) as id`.execute(db);
}

async function loadAgent(db: Db, agentId: number): Promise<AuditPreviousState["agent"]> {
  const row = await db
    .selectFrom("read_model.agents")
    .select(["name", "project_id"])
    .where("id", "=", agentId)
    .executeTakeFirst();
  return row ? { name: row.name, projectId: row.project_id } : null;
}

async function projectPath(db: Db, projectId: number): Promise<string | null> {
  const row = await db
    .selectFrom("read_model.projects")
    .select("path_with_namespace")
    .where("id", "=", projectId)
    .executeTakeFirst();
  return row?.path_with_namespace ?? null;
}

/**
 * The agent and its project as entity, for events that carry only the agent id (every
 * heartbeat): one query, the project's path joined (null when the project row is missing).
 */
async function agentState(db: Db, agentId: number): Promise<AuditPreviousState> {
  const row = await db
    .selectFrom("read_model.agents as a")
    .leftJoin("read_model.projects as p", "p.id", "a.project_id")
    .select(["a.name", "a.project_id", "p.path_with_namespace"])
    .where("a.id", "=", agentId)
    .executeTakeFirst();
  if (!row) return { ...NO_PREVIOUS_STATE, agent: null, entity: null };
  return {
    ...NO_PREVIOUS_STATE,
    agent: { name: row.name, projectId: row.project_id },
    entity: { id: row.project_id, path: row.path_with_namespace ?? null },
  };
}

/**
 * Inserts the drafts with the source message's position (`on conflict (event_id) do nothing`:
 * a draft written before adds nothing; a re-applied event that yields another draft is the
 * caller's to skip, see `auditEventsFor`). A live agent's event then gives its earlier audit events
 * that had no project (or no project path) yet (a snapshot projected before the agent, as in a rebuild where the
 * streams replay independently) their entity:
 *
 * ```sql
 * update read_model.audit_events set entity_id = $project, entity_path = $path
 * where agent_id = $agent and (entity_id is null or entity_path is null)
 * ```
 */
export async function recordAuditEvents(
  db: Db,
  event: KasmapEvent,
  drafts: readonly AuditEventDraft[],
  position: StreamPosition,
): Promise<void> {
  if (drafts.length > 0) {
    await db
      .insertInto("read_model.audit_events")
      .values(
        drafts.map((d) => ({
          ...d,
          details: JSON.stringify(d.details),
          stream: position.stream,
          stream_seq: position.seq,
        })),
      )
      .onConflict((oc) => oc.column("event_id").doNothing())
      .execute();
  }
  if (event.type === EVENT_TYPES.agentChanged && event.data.agent.deleted_at === null) {
    const projectId = event.data.agent.project_id;
    await db
      .updateTable("read_model.audit_events")
      .set({ entity_id: projectId, entity_path: await projectPath(db, projectId) })
      .where("agent_id", "=", event.data.agent.id)
      .where((eb) => eb.or([eb("entity_id", "is", null), eb("entity_path", "is", null)]))
      .execute();
  }
}

/**
 * `recordAuditEvents`' insert for a whole batch, each draft with its message's position, in ONE
 * `unnest` statement (`on conflict (event_id) do nothing`, as there). For events that need
 * nothing else from it: the entity adoption of `agentChanged` stays per event.
 */
export async function insertAuditDrafts(
  db: Db,
  drafts: readonly { draft: AuditEventDraft; position: StreamPosition }[],
): Promise<void> {
  if (drafts.length === 0) return;
  const column = <T>(pick: (d: AuditEventDraft, p: StreamPosition) => T) =>
    sql.val(drafts.map(({ draft, position }) => pick(draft, position)));
  await sql`
    insert into read_model.audit_events (event_id, event_type, author_id, entity_id, entity_path, target_id,
                                         target_type, details, created_at, agent_id, stream, stream_seq)
    select * from unnest(
      ${column((d) => d.event_id)}::text[],
      ${column((d) => d.event_type)}::text[],
      ${column((d) => d.author_id)}::bigint[],
      ${column((d) => d.entity_id)}::bigint[],
      ${column((d) => d.entity_path)}::text[],
      ${column((d) => d.target_id)}::bigint[],
      ${column((d) => d.target_type)}::text[],
      ${column((d) => JSON.stringify(d.details))}::jsonb[],
      ${column((d) => d.created_at)}::timestamptz[],
      ${column((d) => d.agent_id)}::bigint[],
      ${column((_d, p) => p.stream)}::text[],
      ${column((_d, p) => p.seq)}::bigint[]
    )
    on conflict (event_id) do nothing
  `.execute(db);
}
