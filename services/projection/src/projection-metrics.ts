import type { Bus } from "@kasmap/bus";
import { ALERT_SEVERITY_OF, CONNECTED_WITHIN_MS, type KasmapEvent } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import { Counter, type Registry, readingGauge, sharedReading, valueGauge } from "@kasmap/runtime/metrics";
import { outboxStatusOf } from "@kasmap/runtime/outbox";
import { type Kysely, sql } from "kysely";
import { ALERT_OUTBOX } from "./alerts/alert-outbox.ts";
import { PROJECTION_CONSUMERS } from "./consume/projection-consumer.ts";

/** What the projection's code records; the gauges are read from PostgreSQL and NATS at scrape time. */
export type ProjectionMetrics = {
  /** `count` events of `consumer` committed to the read model. */
  applied(consumer: string, count: number): void;
  /** An alert the alert outbox published (`onPublished`). */
  alertPublished(event: KasmapEvent): void;
};

/**
 * Registers the projection's metrics on `registry`:
 *
 * - `kasmap_projection_lag_messages{consumer}`: the stream's last sequence minus the consumer's
 *   checkpoint (`read_model.projection_positions`), the messages not applied yet;
 * - `kasmap_projection_events_applied_total{consumer}`;
 * - `kasmap_projection_alert_outbox_pending_rows`, `kasmap_projection_alert_outbox_set_aside_rows`;
 * - `kasmap_projection_alerts_published_total{type}`: `type` is the alert's (`cluster_changed`,
 *   `cluster_conflict`), one sample per known alert type from the start;
 * - `kasmap_projection_agents_connected`, `kasmap_projection_agents_disconnected`: agents with
 *   a collector whose newest heartbeat is within / older than `CONNECTED_WITHIN_MS` (what the
 *   gateway calls `connected` / `disconnected`), counts rather than a label per agent.
 */
export function registerProjectionMetrics(
  registry: Registry,
  sources: { db: Kysely<ReadModelDatabase>; bus: Bus },
): ProjectionMetrics {
  const { db, bus } = sources;
  readingGauge(registry, {
    name: "kasmap_projection_lag_messages",
    help: "Messages on the consumer's stream not yet applied to the read model (stream last sequence minus checkpoint).",
    labelNames: ["consumer"],
    read: () => readLag(db, bus),
  });
  const applied = new Counter({
    name: "kasmap_projection_events_applied_total",
    help: "Events the projection committed to the read model, by consumer.",
    labelNames: ["consumer"],
    registers: [registry],
  });
  for (const { durable } of PROJECTION_CONSUMERS) applied.inc({ consumer: durable }, 0);
  const outbox = sharedReading(() => outboxStatusOf(db, ALERT_OUTBOX));
  valueGauge(registry, {
    name: "kasmap_projection_alert_outbox_pending_rows",
    help: "Alerts queued in read_model.alert_outbox and not yet published to NATS.",
    read: async () => (await outbox()).pending,
  });
  valueGauge(registry, {
    name: "kasmap_projection_alert_outbox_set_aside_rows",
    help: "Alerts that can never be published, set aside (the projection logs each); above 0 needs an operator.",
    read: async () => (await outbox()).set_aside,
  });
  const alerts = new Counter({
    name: "kasmap_projection_alerts_published_total",
    help: "Alerts the projection published on the alerts stream, by type (cluster_changed, cluster_conflict).",
    labelNames: ["type"],
    registers: [registry],
  });
  for (const type of Object.keys(ALERT_SEVERITY_OF)) alerts.inc({ type: alertTypeLabel(type) }, 0);
  const agents = sharedReading(() => readAgentConnections(db));
  valueGauge(registry, {
    name: "kasmap_projection_agents_connected",
    help: "Agents whose newest collector heartbeat is recent enough to count as connected.",
    read: async () => (await agents()).connected,
  });
  valueGauge(registry, {
    name: "kasmap_projection_agents_disconnected",
    help: "Agents that had a collector but whose newest heartbeat is older than 3 minutes.",
    read: async () => (await agents()).disconnected,
  });
  return {
    applied: (consumer, count) => applied.inc({ consumer }, count),
    alertPublished: (event) => alerts.inc({ type: alertTypeLabel(event.type) }),
  };
}

/** `io.kasmap.alert.cluster_changed.v1` → `cluster_changed`. */
function alertTypeLabel(type: string): string {
  return /^io\.kasmap\.alert\.([a-z_]+)\.v\d+$/.exec(type)?.[1] ?? "other";
}

/**
 * One query for the checkpoints and one `STREAM.INFO` per consumed stream:
 *
 * ```sql
 * select consumer, stream_seq from read_model.projection_positions
 * ```
 */
async function readLag(db: Kysely<ReadModelDatabase>, bus: Bus) {
  const rows = await db
    .selectFrom("read_model.projection_positions")
    .select(["consumer", "stream_seq"])
    .execute();
  const checkpoints = new Map(rows.map((row) => [row.consumer, Number(row.stream_seq)]));
  return Promise.all(
    PROJECTION_CONSUMERS.map(async ({ stream, durable }) => {
      const info = await bus.jsm.streams.info(bus.topology.streamNames[stream]);
      const lag = Math.max(0, info.state.last_seq - (checkpoints.get(durable) ?? 0));
      return { labels: { consumer: durable }, value: lag };
    }),
  );
}

/**
 * ```sql
 * select count(*) filter (where newest > $cutoff) as connected,
 *        count(*) filter (where newest <= $cutoff) as disconnected
 * from (select c.agent_id, max(c.last_heartbeat_at) as newest
 *       from read_model.agent_connections c join read_model.agents a on a.id = c.agent_id
 *       group by c.agent_id) as agents
 * ```
 */
async function readAgentConnections(db: Kysely<ReadModelDatabase>) {
  const cutoff = new Date(Date.now() - CONNECTED_WITHIN_MS);
  const { rows } = await sql<{ connected: number; disconnected: number }>`
    select count(*) filter (where newest > ${cutoff})::int as connected,
           count(*) filter (where newest <= ${cutoff})::int as disconnected
    from (select c.agent_id, max(c.last_heartbeat_at) as newest
          from read_model.agent_connections c join read_model.agents a on a.id = c.agent_id
          group by c.agent_id) as agents`.execute(db);
  return { connected: rows[0]?.connected ?? 0, disconnected: rows[0]?.disconnected ?? 0 };
}
