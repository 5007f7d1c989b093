import type { Bus } from "@kasmap/bus";
import type { Topology } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import type { Logger } from "@kasmap/logging";
import {
  createOutboxPublisher,
  type OutboxPublisher,
  type OutboxPublisherOptions,
  type OutboxTable,
} from "@kasmap/runtime/outbox";
import type { Kysely } from "kysely";
import type { AuditEventDraft } from "../audit/audit-events.ts";
import { alertOfAuditEvent } from "./alert-events.ts";

/**
 * The projection's outbox (migration 018), published under its own advisory lock
 * (`pg_advisory_xact_lock(0x6b70, 1)`; authz's outbox takes class 0x6b61), so two projection
 * processes never publish alerts out of order.
 */
export const ALERT_OUTBOX: OutboxTable = {
  name: "read_model.alert_outbox",
  lock: { classId: 0x6b70, key: 1 },
};

/** How often the relay publishes what the consumers queued, ms: the delay of an alert on NATS. */
export const ALERT_RELAY_INTERVAL_MS = 500;

/**
 * Queues the alerts `drafts` raise (`alertOfAuditEvent`) in the caller's transaction, the one
 * that writes the audit events themselves, so an alert exists exactly when its audit event does:
 *
 * ```sql
 * insert into read_model.alert_outbox (event_id, agent_id, event) values ($1, $2, $3), …
 * on conflict (event_id) do nothing
 * ```
 */
export async function queueAlerts(
  db: Kysely<ReadModelDatabase>,
  topology: Topology,
  drafts: readonly AuditEventDraft[],
): Promise<void> {
  const alerts = drafts.flatMap((draft) => alertOfAuditEvent(topology, draft) ?? []);
  if (alerts.length === 0) return;
  await db
    .insertInto("read_model.alert_outbox")
    .values(
      alerts.map((alert) => ({
        event_id: alert.id,
        agent_id: alert.data.agent_id,
        event: JSON.stringify(alert),
      })),
    )
    .onConflict((oc) => oc.column("event_id").doNothing())
    .execute();
}

/** The publisher of the alert outbox to the alerts stream (`@kasmap/runtime/outbox`). */
export function createAlertPublisher(
  db: Kysely<ReadModelDatabase>,
  bus: Bus,
  logger: Logger,
  options: OutboxPublisherOptions = {},
): OutboxPublisher {
  return createOutboxPublisher(db, bus, logger, ALERT_OUTBOX, options);
}
