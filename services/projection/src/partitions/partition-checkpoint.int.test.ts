import { migrateReadModel, openAdvisoryLockSession, type ReadModelDatabase } from "@kasmap/db";
import { buildClusterFacts } from "@kasmap/testing";
import type { Kysely } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { projectBatch } from "../consume/projection-consumer.ts";
import { projectionContextForFile } from "../testing/projection-context.ts";
import { leaseFence } from "./lease-fence.ts";
import { PARTITION_LEASE_CLASS } from "./leased-projection.ts";
import { partitionCheckpoint } from "./partition-checkpoint.ts";

const ctx = projectionContextForFile("projection-partition-checkpoint-int-test");
const CONSUMER = "projection-cluster";

beforeAll(async () => {
  await migrateReadModel(ctx.db);
});

async function setLegacyPosition(seq: number): Promise<void> {
  await ctx.db
    .insertInto("read_model.projection_positions")
    .values({ consumer: CONSUMER, stream: ctx.topology.streamNames.cluster, stream_seq: seq })
    .onConflict((oc) => oc.column("consumer").doUpdateSet({ stream_seq: seq }))
    .execute();
}

async function setPartitionRows(count: number, seqs: readonly number[]): Promise<void> {
  await ctx.db
    .insertInto("read_model.projection_partition_positions")
    .values(
      seqs.map((stream_seq, index) => ({
        consumer: CONSUMER,
        partition_count: count,
        partition_index: index,
        stream: ctx.topology.streamNames.cluster,
        stream_seq,
      })),
    )
    .execute();
}

const noFence = async (_trx: Kysely<ReadModelDatabase>) => {};

function checkpointOf(index: number, count: number, fence = noFence) {
  const stream = ctx.topology.streamNames.cluster;
  return partitionCheckpoint(ctx.db, { consumer: CONSUMER, stream, partition: { index, count } }, fence);
}

describe("partition checkpoints", () => {
  it("start a new layout at the furthest position every agent is known to be applied to", async () => {
    // Nothing yet: from the start.
    expect(await checkpointOf(0, 5).read()).toBe(0);
    await setLegacyPosition(7);
    // A complete layout of 2 (its slowest partition at 10) beats the whole-stream position (7);
    // an incomplete layout of 4 (one row) says nothing about the agents of its other partitions.
    await setPartitionRows(2, [12, 10]);
    await setPartitionRows(4, [40]);
    expect(await checkpointOf(1, 3).read()).toBe(10);
    // A partition ahead of that keeps its own position.
    await ctx.db
      .updateTable("read_model.projection_partition_positions")
      .set({ stream_seq: 15 })
      .where("partition_count", "=", 3)
      .where("partition_index", "=", 1)
      .execute();
    expect(await checkpointOf(1, 3).read()).toBe(15);
    // One behind a newer safe position (here the whole stream's, 20) moves up to it at its next
    // start, rather than replaying what was applied meanwhile.
    await setLegacyPosition(20);
    expect(await checkpointOf(1, 3).read()).toBe(20);
    expect(await checkpointOf(0, 5).read()).toBe(20);
  });

  it("apply only while the replica's session holds the lease, and never below the stored position", async () => {
    const stream = ctx.topology.streamNames.cluster;
    const session = await openAdvisoryLockSession({
      url: ctx.database.url,
      classId: PARTITION_LEASE_CLASS,
      applicationName: "partition-checkpoint-test",
    });
    const key = 2001;
    expect(await session.tryLock(key)).toBe(true);
    const fence = leaseFence(
      { classId: PARTITION_LEASE_CLASS, key, pid: session.pid, backendStart: session.backendStart },
      "test partition",
      10_000,
    );
    const checkpoint = checkpointOf(0, 7, fence);
    const start = await checkpoint.read();
    const snapshot = ctx.events.snapshot(1, buildClusterFacts());
    const meta = (seq: number) => ({
      stream,
      seq,
      subject: snapshot.subject,
      deliveryCount: 1,
      storedAt: new Date(),
      bytes: 0,
    });
    // An empty batch (only other partitions' messages) moves the checkpoint while the lease is held.
    await projectBatch(ctx.db, ctx.topology, checkpoint, stream, [], start + 5);
    expect(await checkpoint.read()).toBe(start + 5);
    // A batch at or below the checkpoint (a replica that lost the lease mid-batch) applies nothing.
    await projectBatch(
      ctx.db,
      ctx.topology,
      checkpoint,
      stream,
      [{ event: snapshot, meta: meta(start + 3) }],
      start + 3,
    );
    expect(await checkpoint.read()).toBe(start + 5);
    expect(
      await ctx.db.selectFrom("read_model.cluster_snapshot_history").select("stream_seq").execute(),
    ).toEqual([]);

    // A second session cannot take the lease while the first holds it.
    const other = await openAdvisoryLockSession({
      url: ctx.database.url,
      classId: PARTITION_LEASE_CLASS,
      applicationName: "partition-checkpoint-test-2",
    });
    expect(await other.tryLock(key)).toBe(false);
    // The session ends (a crash): the lock is gone with it, and the fence refuses the next batch.
    await session.close();
    await expect(projectBatch(ctx.db, ctx.topology, checkpoint, stream, [], start + 9)).rejects.toThrow(
      /lease of test partition is not held/,
    );
    expect(await checkpoint.read()).toBe(start + 5);
    expect(await other.tryLock(key)).toBe(true);
    await other.close();
  });
});
