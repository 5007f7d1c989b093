import type { AuditEventResponse } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import type { Selectable } from "kysely";
import type { PageRequest } from "../http/pagination.ts";
import type { ReadModel } from "./registry-queries.ts";
import { selectWindowPage } from "./window-page.ts";

type AuditEventRow = Selectable<ReadModelDatabase["read_model.audit_events"]>;

/** Filters of both audit-event endpoints; all optional, combined with `and`. */
export type AuditEventFilter = {
  entityId?: number;
  agentId?: number;
  eventType?: string;
  /** ISO-8601; GitLab's bounds are inclusive. */
  createdAfter?: string;
  createdBefore?: string;
};

/**
 * One page of audit events, newest first as GitLab lists them (`created_at desc, id desc`), with
 * the total from `count(*) over ()`. Answered from `audit_events_entity_time` or
 * `audit_events_agent_time`:
 *
 * ```sql
 * select *, count(*) over () as total from read_model.audit_events
 * where entity_type = 'Project' and entity_id = $1 and created_at >= $2 …
 * order by created_at desc, id desc limit $n offset $m
 * ```
 */
export async function listAuditEvents(
  db: ReadModel,
  filter: AuditEventFilter,
  page: PageRequest,
): Promise<{ events: AuditEventResponse[]; total: number }> {
  let query = db.selectFrom("read_model.audit_events").selectAll().where("entity_type", "=", "Project");
  if (filter.entityId !== undefined) query = query.where("entity_id", "=", filter.entityId);
  if (filter.agentId !== undefined) query = query.where("agent_id", "=", filter.agentId);
  if (filter.eventType !== undefined) query = query.where("event_type", "=", filter.eventType);
  if (filter.createdAfter !== undefined)
    query = query.where("created_at", ">=", new Date(filter.createdAfter));
  if (filter.createdBefore !== undefined)
    query = query.where("created_at", "<=", new Date(filter.createdBefore));
  const { rows, total } = await selectWindowPage(
    query.orderBy("created_at", "desc").orderBy("id", "desc"),
    page,
  );
  return { events: rows.map(auditEventBody), total: total ?? 0 };
}

/** GitLab's audit-event body (`API::Entities::AuditEvent`); tracing columns stay inside. */
function auditEventBody(row: AuditEventRow): AuditEventResponse {
  return {
    id: row.id,
    author_id: row.author_id,
    entity_id: row.entity_id,
    entity_type: "Project",
    entity_path: row.entity_path,
    details: row.details as Record<string, unknown>,
    created_at: new Date(row.created_at).toISOString(),
    event_type: row.event_type as AuditEventResponse["event_type"],
    target_id: row.target_id,
    target_type: row.target_type as AuditEventResponse["target_type"],
  };
}
