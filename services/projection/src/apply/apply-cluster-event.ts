import { CONNECTED_WITHIN_MS, type EVENT_TYPES, type EventDataOf } from "@kasmap/contracts";
import { MAX_COLLECTOR_CONNECTIONS_PER_AGENT, type ReadModelDatabase } from "@kasmap/db";
import { type Kysely, sql } from "kysely";
import { isDeletedAgent } from "./apply-authz-event.ts";
import { replaceClusterAddresses } from "./cluster-addresses.ts";
import { collectorConnectionRow, connectionRow, snapshotRow } from "./read-model-rows.ts";

type Db = Kysely<ReadModelDatabase>;

/**
 * Replaces the agent's latest snapshot (and its reverse-lookup addresses) unless a later stream
 * message already did, and appends the snapshot to the agent's history (`on conflict do
 * nothing`: the history row of a stream message is written once).
 */
export async function applyClusterSnapshot(
  db: Db,
  data: EventDataOf<typeof EVENT_TYPES.clusterSnapshot>,
  streamSeq: number,
): Promise<void> {
  const row = snapshotRow(data, streamSeq);
  const latest = await db
    .insertInto("read_model.cluster_snapshots")
    .values(row)
    .onConflict((oc) =>
      oc
        .column("agent_id")
        .doUpdateSet((eb) => ({
          content_hash: eb.ref("excluded.content_hash"),
          cluster: eb.ref("excluded.cluster"),
          observed_at: eb.ref("excluded.observed_at"),
          stream_seq: eb.ref("excluded.stream_seq"),
        }))
        .where("read_model.cluster_snapshots.stream_seq", "<", (eb) => eb.ref("excluded.stream_seq")),
    )
    .executeTakeFirst();
  // The address index follows the latest snapshot only: an older message (skipped above) must
  // not replace the addresses of a newer one.
  // Nor may a late snapshot of a deleted agent put it back into reverse lookups.
  if (Number(latest.numInsertedOrUpdatedRows ?? 0n) > 0 && !(await isDeletedAgent(db, data.agent_id))) {
    await replaceClusterAddresses(db, data.agent_id, data.cluster);
  }
  await db
    .insertInto("read_model.cluster_snapshot_history")
    .values(row)
    .onConflict((oc) => oc.columns(["agent_id", "stream_seq"]).doNothing())
    .execute();
}

/**
 * Records the heartbeat unless a newer one (by the collector's `sent_at`) is already stored:
 * heartbeats of two collectors, or a replay, must not move the last connection backwards.
 */
export async function applyClusterHeartbeat(
  db: Db,
  data: EventDataOf<typeof EVENT_TYPES.clusterHeartbeat>,
): Promise<void> {
  await db
    .insertInto("read_model.agent_connections")
    .values(connectionRow(data))
    .onConflict((oc) =>
      oc
        .column("agent_id")
        .doUpdateSet((eb) => ({
          collector_id: eb.ref("excluded.collector_id"),
          last_heartbeat_at: eb.ref("excluded.last_heartbeat_at"),
          content_hash: eb.ref("excluded.content_hash"),
          // Connected again: the next silence is a new disconnection to report.
          disconnected_reported_at: null,
        }))
        .where("read_model.agent_connections.last_heartbeat_at", "<", (eb) =>
          eb.ref("excluded.last_heartbeat_at"),
        ),
    )
    .execute();
  await applyCollectorConnection(db, data);
}

/**
 * Records who the heartbeat's collector is and when it connected, per collector, so replicas
 * of one agent do not overwrite each other. Older heartbeats (a replay, a late delivery) change
 * nothing. `connected_at` stays while the collector keeps beating, and restarts after it
 * stopped or was silent longer than `CONNECTED_WITHIN_MS`:
 *
 * ```sql
 * insert into read_model.collector_connections (…) values (…)
 * on conflict (agent_id, collector_id) do update set …,
 *   connected_at = case when collector_connections.stopped_at is not null
 *     or collector_connections.last_heartbeat_at
 *        < excluded.last_heartbeat_at - <CONNECTED_WITHIN_MS> * interval '1 millisecond'
 *     then excluded.connected_at else collector_connections.connected_at end
 * where collector_connections.last_heartbeat_at < excluded.last_heartbeat_at
 * ```
 */
const TABLE = "read_model.collector_connections";

async function applyCollectorConnection(
  db: Db,
  data: EventDataOf<typeof EVENT_TYPES.clusterHeartbeat>,
): Promise<void> {
  const written = await db
    .insertInto("read_model.collector_connections")
    .values(collectorConnectionRow(data))
    .onConflict((oc) =>
      oc
        .columns(["agent_id", "collector_id"])
        .doUpdateSet((eb) => ({
          pod_name: eb.ref("excluded.pod_name"),
          pod_ip: eb.ref("excluded.pod_ip"),
          namespace: eb.ref("excluded.namespace"),
          node: eb.ref("excluded.node"),
          version: eb.ref("excluded.version"),
          commit: eb.ref("excluded.commit"),
          last_heartbeat_at: eb.ref("excluded.last_heartbeat_at"),
          stopped_at: eb.ref("excluded.stopped_at"),
          cluster_uid: eb.ref("excluded.cluster_uid"),
          connected_at: sql<Date>`case when ${sql.ref(`${TABLE}.stopped_at`)} is not null
            or ${sql.ref(`${TABLE}.last_heartbeat_at`)} < excluded.last_heartbeat_at - ${CONNECTED_WITHIN_MS} * interval '1 millisecond'
            then excluded.connected_at else ${sql.ref(`${TABLE}.connected_at`)} end`,
        }))
        .where(`${TABLE}.last_heartbeat_at`, "<", (eb) => eb.ref("excluded.last_heartbeat_at")),
    )
    // `xmax = 0`: the row was inserted, not updated (PostgreSQL's marker of a fresh tuple).
    .returning(sql<boolean>`(xmax = 0)`.as("inserted"))
    .executeTakeFirst();
  if (written?.inserted) await keepNewestCollectors(db, data.agent_id);
}

/**
 * Deletes the agent's collector rows beyond the `MAX_COLLECTOR_CONNECTIONS_PER_AGENT` newest
 * heartbeats, in the transaction that added one (a collector's credentials let it invent
 * collector ids; each would otherwise stay a row for good). A replay applies the same heartbeats
 * in the same order, so it keeps the same rows.
 *
 * ```sql
 * delete from read_model.collector_connections where agent_id = $1 and collector_id in (
 *   select collector_id from read_model.collector_connections where agent_id = $1
 *   order by last_heartbeat_at desc, collector_id offset 64)
 * ```
 */
async function keepNewestCollectors(db: Db, agentId: number): Promise<void> {
  await db
    .deleteFrom(TABLE)
    .where("agent_id", "=", agentId)
    .where("collector_id", "in", (eb) =>
      eb
        .selectFrom(TABLE)
        .select("collector_id")
        .where("agent_id", "=", agentId)
        .orderBy("last_heartbeat_at", "desc")
        .orderBy("collector_id")
        .offset(MAX_COLLECTOR_CONNECTIONS_PER_AGENT),
    )
    .execute();
}
