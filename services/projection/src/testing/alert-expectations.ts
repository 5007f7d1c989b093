import { type AlertType, KasmapEventSchema, type Topology } from "@kasmap/contracts";
import { expect } from "vitest";
import { alertOfAuditEvent } from "../alerts/alert-events.ts";
import type { AuditEventDraft } from "../audit/audit-events.ts";

/**
 * The alert the audit event raises, checked to be a valid event of `type`, critical, on
 * `subject`, about the agent and entity given, and carrying the audit event's id and details.
 */
export function expectCriticalAlertOf(
  topology: Topology,
  draft: AuditEventDraft,
  expected: { type: AlertType; subject: string; agentId: number; entityId: number },
) {
  const alert = alertOfAuditEvent(topology, draft);
  expect(KasmapEventSchema.parse(alert)).toEqual(alert);
  expect(alert).toMatchObject({
    type: expected.type,
    subject: expected.subject,
    severity: "critical",
    data: {
      agent_id: expected.agentId,
      audit_event_id: draft.event_id,
      entity_id: expected.entityId,
      details: draft.details,
    },
  });
  return alert;
}
