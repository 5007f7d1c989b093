import type { EVENT_TYPES, EventDataOf } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import type { Kysely } from "kysely";
import { isDeletedAgent } from "./apply-authz-event.ts";
import { replaceClusterAddresses } from "./cluster-addresses.ts";
import { writeHeartbeats } from "./heartbeat-batch-writes.ts";
import { snapshotRow } from "./read-model-rows.ts";

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
 * heartbeats of two collectors, or a replay, must not move the last connection backwards. Who the
 * heartbeat's collector is and when it connected is kept per collector, so replicas of one agent
 * do not overwrite each other; `connected_at` stays while the collector keeps beating, and restarts
 * after it stopped or was silent longer than `CONNECTED_WITHIN_MS` (`writeHeartbeats`, which a
 * batch of heartbeats uses set-based).
 */
export async function applyClusterHeartbeat(
  db: Db,
  data: EventDataOf<typeof EVENT_TYPES.clusterHeartbeat>,
): Promise<void> {
  await writeHeartbeats(db, [data]);
}
