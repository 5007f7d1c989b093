import type { Bus } from "@kasmap/bus";
import { ALERT_SEVERITY_OF, CONNECTED_WITHIN_MS, type KasmapEvent } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import {
  Counter,
  outboxStatusGauges,
  type Registry,
  readingGauge,
  sharedValueGauges,
} from "@kasmap/runtime/metrics";
import { outboxStatusOf } from "@kasmap/runtime/outbox";
import { type Kysely, sql } from "kysely";
import { ALERT_OUTBOX } from "./alerts/alert-outbox.ts";
import { PROJECTION_CONSUMERS } from "./consume/projection-consumer.ts";
import { safeStartSeq } from "./consume/projection-positions.ts";
import { type ProjectionUnit, projectionUnits } from "./partitions/projection-units.ts";

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
 * - `kasmap_projection_lag_messages{consumer,partition}`: the stream's last sequence minus the
 *   checkpoint of each unit the replicas run (`projectionUnits(partitions)`), the messages it has
 *   not read past yet: `partition` is the partition's index (`"0"` … `"N-1"`, the cluster and
 *   heartbeat streams with `KASMAP_PROJECTION_PARTITIONS` > 1) or `"all"` for a whole stream
 *   (the registry and authz streams, and every stream with one partition);
 * - `kasmap_projection_events_applied_total{consumer}`;
 * - `kasmap_projection_alert_outbox_pending_rows`, `kasmap_projection_alert_outbox_set_aside_rows`;
 * - `kasmap_projection_alerts_published_total{type}`: `type` is the alert's (`cluster_changed`,
 *   `cluster_conflict`), one sample per known alert type from the start;
 * - `kasmap_projection_agents_connected`, `kasmap_projection_agents_disconnected`: agents with
 *   a collector whose newest heartbeat is within `CONNECTED_WITHIN_MS` / older and whose silence
 *   the disconnection sweep confirmed (what the gateway calls `connected` / `disconnected`),
 *   counts rather than a label per agent. Agents the gateway calls `unknown` (older, not
 *   confirmed: their newer heartbeats may wait unread) are in neither.
 */
export function registerProjectionMetrics(
  registry: Registry,
  sources: { db: Kysely<ReadModelDatabase>; bus: Bus; partitions?: number },
): ProjectionMetrics {
  const { db, bus } = sources;
  const units = projectionUnits(sources.partitions ?? 1);
  readingGauge(registry, {
    name: "kasmap_projection_lag_messages",
    help: 'Messages on the consumer\'s stream its partition (or, partition="all", the whole-stream consumer) has not applied yet: stream last sequence minus checkpoint.',
    labelNames: ["consumer", "partition"],
    read: () => readLag(db, bus, units),
  });
  const applied = new Counter({
    name: "kasmap_projection_events_applied_total",
    help: "Events the projection committed to the read model, by consumer.",
    labelNames: ["consumer"],
    registers: [registry],
  });
  for (const { durable } of PROJECTION_CONSUMERS) applied.inc({ consumer: durable }, 0);
  outboxStatusGauges(registry, () => outboxStatusOf(db, ALERT_OUTBOX), {
    prefix: "kasmap_projection_alert_outbox",
    rows: "Alerts in read_model.alert_outbox",
    owner: "the projection",
  });

  const alerts = new Counter({
    name: "kasmap_projection_alerts_published_total",
    help: "Alerts the projection published on the alerts stream, by type (cluster_changed, cluster_conflict).",
    labelNames: ["type"],
    registers: [registry],
  });
  for (const type of Object.keys(ALERT_SEVERITY_OF)) alerts.inc({ type: alertTypeLabel(type) }, 0);
  sharedValueGauges(registry, () => readAgentConnections(db), [
    {
      name: "kasmap_projection_agents_connected",
      help: "Agents whose newest collector heartbeat is recent enough to count as connected.",
      pick: (agents) => agents.connected,
    },
    {
      name: "kasmap_projection_agents_disconnected",
      help: "Agents that had a collector but whose newest heartbeat is older than 3 minutes, with no newer heartbeat waiting unread (confirmed by the projection's sweep).",
      pick: (agents) => agents.disconnected,
    },
  ]);
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
 * The checkpoints and one `STREAM.INFO` per consumed stream. A unit's checkpoint is its own row
 * (the whole stream's, or its partition's in the layout in use), never below its consumer's
 * `safeStartSeq`, where a unit starts that has no row yet or a row behind it:
 *
 * ```sql
 * select consumer, stream_seq from read_model.projection_positions;
 * select consumer, partition_index, stream_seq from read_model.projection_partition_positions
 *  where partition_count = $partitions;
 * -- and safeStartSeq($consumer) for each consumer
 * ```
 */
async function readLag(db: Kysely<ReadModelDatabase>, bus: Bus, units: readonly ProjectionUnit[]) {
  const partitions = Math.max(...units.map((unit) => unit.partition?.count ?? 1));
  const [whole, partitioned, consumers] = await Promise.all([
    db.selectFrom("read_model.projection_positions").select(["consumer", "stream_seq"]).execute(),
    db
      .selectFrom("read_model.projection_partition_positions")
      .select(["consumer", "partition_index", "stream_seq"])
      .where("partition_count", "=", partitions)
      .execute(),
    Promise.all(
      PROJECTION_CONSUMERS.map(async ({ stream, durable }) => {
        const [info, safe] = await Promise.all([
          bus.jsm.streams.info(bus.topology.streamNames[stream]),
          safeStartSeq(db, durable),
        ]);
        return [durable, { lastSeq: info.state.last_seq, safe }] as const;
      }),
    ),
  ]);
  const own = new Map<string, number>([
    ...whole.map((row) => [`${row.consumer}/all`, Number(row.stream_seq)] as const),
    ...partitioned.map((row) => [`${row.consumer}/${row.partition_index}`, Number(row.stream_seq)] as const),
  ]);
  const byConsumer = new Map(consumers);
  return units.map(({ declaration, partition }) => {
    const labels = { consumer: declaration.durable, partition: partition ? String(partition.index) : "all" };
    const { lastSeq = 0, safe = 0 } = byConsumer.get(declaration.durable) ?? {};
    const checkpoint = Math.max(own.get(`${labels.consumer}/${labels.partition}`) ?? 0, safe);
    return { labels, value: Math.max(0, lastSeq - checkpoint) };
  });
}

/**
 * The gateway's `deploymentStatus` rule, counted: `connected` within `CONNECTED_WITHIN_MS`,
 * `disconnected` older and marked by the disconnection sweep (`disconnected_reported_at`, which
 * the next heartbeat clears), `unknown` (older, not marked) not counted.
 *
 * One row per agent (`agent_connections` is keyed by `agent_id`):
 *
 * ```sql
 * select count(*) filter (where c.last_heartbeat_at > $cutoff) as connected,
 *        count(*) filter (where c.last_heartbeat_at <= $cutoff
 *                           and c.disconnected_reported_at is not null) as disconnected
 * from read_model.agent_connections c join read_model.agents a on a.id = c.agent_id
 * ```
 */
async function readAgentConnections(db: Kysely<ReadModelDatabase>) {
  const cutoff = new Date(Date.now() - CONNECTED_WITHIN_MS);
  const { rows } = await sql<{ connected: number; disconnected: number }>`
    select count(*) filter (where c.last_heartbeat_at > ${cutoff})::int as connected,
           count(*) filter (where c.last_heartbeat_at <= ${cutoff}
                              and c.disconnected_reported_at is not null)::int as disconnected
    from read_model.agent_connections c join read_model.agents a on a.id = c.agent_id`.execute(db);
  return { connected: rows[0]?.connected ?? 0, disconnected: rows[0]?.disconnected ?? 0 };
}
