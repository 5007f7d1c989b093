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
 * What `alertOutboxRetentionMs` adds to the streams' max age, ms: a day, for the server's
 * expiry of old messages (which runs now and then) and the clocks of NATS and PostgreSQL.
 */
const ALERT_RETENTION_MARGIN_MS = 24 * 60 * 60 * 1_000;

/**
 * How long a published alert stays in the outbox, ms (`OutboxPublisherOptions.retentionMs`): as
 * long as the streams keep the events that raised it, plus `ALERT_RETENTION_MARGIN_MS` — the
 * longest `max_age` of `topology`'s streams (`KASMAP_AUDIT_RETENTION_DAYS`, 400 days by default).
 * A rebuild (which keeps this table, `KEPT_BY_REBUILD`) or a change of partitions applies those
 * events again, and the row's unique `event_id` is what stops them raising the alert twice: a row
 * deleted sooner would be queued and published again, long past the alerts stream's two-minute
 * duplicate window. `Infinity` (never pruned) when a stream keeps its messages forever.
 */
export function alertOutboxRetentionMs(topology: Topology): number {
  const maxAgesNs = topology.streams.map((stream) => stream.maxAgeNs);
  if (maxAgesNs.includes(0)) return Number.POSITIVE_INFINITY;
  return Math.max(...maxAgesNs) / 1_000_000 + ALERT_RETENTION_MARGIN_MS;
}

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

/**
 * The publisher of the alert outbox to the alerts stream (`@kasmap/runtime/outbox`); it prunes
 * published alerts after `alertOutboxRetentionMs` of the bus' topology unless `options` say
 * otherwise.
 */
export function createAlertPublisher(
  db: Kysely<ReadModelDatabase>,
  bus: Bus,
  logger: Logger,
  options: OutboxPublisherOptions = {},
): OutboxPublisher {
  return createOutboxPublisher(db, bus, logger, ALERT_OUTBOX, {
    retentionMs: alertOutboxRetentionMs(bus.topology),
    ...options,
  });
}
