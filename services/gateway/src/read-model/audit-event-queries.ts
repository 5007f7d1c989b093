import type { AuditEventResponse } from "@kasmap/contracts";
import type { KeysetPageRequest } from "../http/keyset-pagination.ts";
import type { PageRequest } from "../http/pagination.ts";
import { auditEventBody } from "./audit-event-body.ts";
import type { ReadModel } from "./registry-queries.ts";
import { selectWindowPage } from "./window-page.ts";

/** Filters of both audit-event endpoints; all optional, combined with `and`. */
export type AuditEventFilter = {
  entityId?: number;
  /** Only events this user authored (a Developer's view of a project's events, as GitLab's). */
  authorId?: number;
  agentId?: number;
  eventType?: string;
  /** ISO-8601; GitLab's bounds are inclusive. */
  createdAfter?: string;
  createdBefore?: string;
};

/**
 * Project audit events with the names their REST body shows: the author's name, the agent's and
 * the project's current path (for rows recorded before the project was projected).
 *
 * ```sql
 * select e.*, u.name as author_name, a.name as agent_name, p.path_with_namespace as project_path,
 *        p.name as project_name
 * from read_model.audit_events e left join read_model.users u on u.id = e.author_id
 * left join read_model.agents a on a.id = e.agent_id left join read_model.projects p on p.id = e.entity_id
 * where e.entity_type = 'Project' …
 * ```
 */
function auditEventRecords(db: ReadModel, filter: AuditEventFilter) {
  let query = db
    .selectFrom("read_model.audit_events as e")
    .leftJoin("read_model.users as u", "u.id", "e.author_id")
    .leftJoin("read_model.agents as a", "a.id", "e.agent_id")
    .leftJoin("read_model.projects as p", "p.id", "e.entity_id")
    .select([
      "e.id",
      "e.event_type",
      "e.author_id",
      "e.entity_id",
      "e.entity_path",
      "e.target_id",
      "e.target_type",
      "e.details",
      "e.created_at",
      "u.name as author_name",
      "a.name as agent_name",
      "p.path_with_namespace as project_path",
      "p.name as project_name",
    ])
    .where("e.entity_type", "=", "Project");
  if (filter.entityId !== undefined) query = query.where("e.entity_id", "=", filter.entityId);
  if (filter.authorId !== undefined) query = query.where("e.author_id", "=", filter.authorId);
  if (filter.agentId !== undefined) query = query.where("e.agent_id", "=", filter.agentId);
  if (filter.eventType !== undefined) query = query.where("e.event_type", "=", filter.eventType);
  if (filter.createdAfter !== undefined)
    query = query.where("e.created_at", ">=", new Date(filter.createdAfter));
  if (filter.createdBefore !== undefined)
    query = query.where("e.created_at", "<=", new Date(filter.createdBefore));
  return query;
}

/**
 * One page of audit events, newest first as GitLab lists them (`created_at desc, id desc`), with
 * the total from `count(*) over ()`. Answered from `audit_events_entity_time` or
 * `audit_events_agent_time`: `… order by created_at desc, id desc limit $n offset $m`.
 */
export async function listAuditEvents(
  db: ReadModel,
  filter: AuditEventFilter,
  page: PageRequest,
): Promise<{ events: AuditEventResponse[]; total: number }> {
  const { rows, total } = await selectWindowPage(
    auditEventRecords(db, filter).orderBy("e.created_at", "desc").orderBy("e.id", "desc"),
    page,
  );
  return { events: rows.map(auditEventBody), total: total ?? 0 };
}

/**
 * One keyset page, GitLab's `id desc` order: `… and e.id < $cursor order by e.id desc limit
 * $perPage + 1`; the extra row only tells whether a next page exists (`nextAfterId`, the last id
 * shown, or null).
 */
export async function listAuditEventsKeyset(
  db: ReadModel,
  filter: AuditEventFilter,
  page: KeysetPageRequest,
): Promise<{ events: AuditEventResponse[]; nextAfterId: number | null }> {
  let query = auditEventRecords(db, filter);
  if (page.beforeId !== null) query = query.where("e.id", "<", page.beforeId);
  const rows = await query
    .orderBy("e.id", "desc")
    .limit(page.perPage + 1)
    .execute();
  const events = rows.slice(0, page.perPage).map(auditEventBody);
  const nextAfterId = rows.length > page.perPage ? (events.at(-1)?.id ?? null) : null;
  return { events, nextAfterId };
}

/** The audit event `id` if it matches `filter` (e.g. belongs to the project), else null. */
export async function findAuditEvent(
  db: ReadModel,
  filter: AuditEventFilter,
  id: number,
): Promise<AuditEventResponse | null> {
  const row = await auditEventRecords(db, filter).where("e.id", "=", id).executeTakeFirst();
  return row === undefined ? null : auditEventBody(row);
}
