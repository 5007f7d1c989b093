import { createHash } from "node:crypto";
import {
  type AlertType,
  AUDIT_EVENT_TYPES,
  ClusterChangedDetailsSchema,
  ClusterConflictDetailsSchema,
  EVENT_TYPES,
  type EventDataOf,
  type KasmapEventOf,
  newAlertEvent,
  type Topology,
} from "@kasmap/contracts";
import type { AuditEventDraft } from "../audit/audit-events.ts";

/** The CloudEvent `source` of every alert the projection raises. */
export const ALERT_SOURCE = "/kasmap/projection";

export type AlertEvent = KasmapEventOf<AlertType>;

/**
 * The alert an audit event raises, or null for one that raises none. Pure: the same draft
 * always gives the same alert, with an id derived from the audit event's (`alert-<SHA-256 of
 * its event_id>`), so a re-applied or replayed audit event is absorbed by the outbox's unique
 * `event_id` and, inside the duplicate window, by `Nats-Msg-Id`.
 *
 * - `cluster_agent_cluster_changed` → `io.kasmap.alert.cluster_changed.v1`, severity
 *   `critical`, on `<root>.alerts.<agent>.cluster_changed`, with the audit event's details.
 * - `cluster_agent_cluster_conflict` → `io.kasmap.alert.cluster_conflict.v1`, severity
 *   `critical`, on `<root>.alerts.<agent>.cluster_conflict`, with the audit event's details.
 */
export function alertOfAuditEvent(topology: Topology, auditEvent: AuditEventDraft): AlertEvent | null {
  // Every alerting event is about an agent; only a refused creation has none.
  if (auditEvent.agent_id === null) return null;
  const draft = { ...auditEvent, agent_id: auditEvent.agent_id };
  switch (draft.event_type) {
    case AUDIT_EVENT_TYPES.clusterChanged:
      return alertOf(topology, EVENT_TYPES.alertClusterChanged, draft, {
        ...alertDataOf(draft),
        details: ClusterChangedDetailsSchema.parse(draft.details),
      });
    case AUDIT_EVENT_TYPES.clusterConflict:
      return alertOf(topology, EVENT_TYPES.alertClusterConflict, draft, {
        ...alertDataOf(draft),
        details: ClusterConflictDetailsSchema.parse(draft.details),
      });
    default:
      return null;
  }
}

/** The alert of `type` with `data`, raised by the audit event. */
function alertOf<T extends AlertType>(
  topology: Topology,
  type: T,
  draft: AgentAuditEventDraft,
  data: EventDataOf<T>,
): AlertEvent {
  return newAlertEvent({ type, ...alertEnvelopeOf(topology, type, draft), data });
}

/** An audit event about an agent: the only kind that raises alerts. */
type AgentAuditEventDraft = AuditEventDraft & { agent_id: number };

function alertEnvelopeOf(topology: Topology, type: AlertType, draft: AgentAuditEventDraft) {
  return {
    source: ALERT_SOURCE,
    subject: topology.subjects.alert(type, draft.agent_id),
    id: `alert-${createHash("sha256").update(draft.event_id).digest("hex")}`,
    time: new Date(draft.created_at),
  };
}

/** What every alert's data repeats of its audit event, besides the details. */
function alertDataOf(draft: AgentAuditEventDraft) {
  return {
    agent_id: draft.agent_id,
    audit_event_id: draft.event_id,
    entity_id: draft.entity_id,
    entity_path: draft.entity_path,
  };
}
