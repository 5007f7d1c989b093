import {
  type AdvisoryLockSession,
  createDatabase,
  migrateReadModel,
  openAdvisoryLockSession,
  type ReadModelDatabase,
} from "@kasmap/db";
import { type Kysely, sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectionContextForFile } from "../testing/projection-context.ts";
import { leaseFence, type UnitLease } from "./lease-fence.ts";
import { PARTITION_LEASE_CLASS } from "./leased-projection.ts";
import { partitionCheckpoint } from "./partition-checkpoint.ts";

const ctx = projectionContextForFile("projection-lease-fence-int-test");
const IDLE_TIMEOUT_MS = 1_000;
const partition = { index: 0, count: 2 };

let session: AdvisoryLockSession;
/** The frozen replica's pool: its connection is the one PostgreSQL ends. */
let frozenPool: Kysely<ReadModelDatabase>;

beforeAll(async () => {
  await migrateReadModel(ctx.db);
  session = await openAdvisoryLockSession({
    url: ctx.database.url,
    classId: PARTITION_LEASE_CLASS,
    applicationName: "lease-fence-test",
  });
  frozenPool = createDatabase<ReadModelDatabase>({ url: ctx.database.url, max: 1 });
});

afterAll(async () => {
  await session?.close();
  await frozenPool?.destroy();
});

function leaseOf(key: number): UnitLease {
  return { classId: PARTITION_LEASE_CLASS, key, pid: session.pid, backendStart: session.backendStart };
}

function checkpointOn(db: Kysely<ReadModelDatabase>, lease: UnitLease) {
  return partitionCheckpoint(
    db,
    { consumer: "projection-cluster", stream: ctx.topology.streamNames.cluster, partition },
    leaseFence(lease, "test partition", IDLE_TIMEOUT_MS),
  );
}

async function idleInTransactionTimeout(db: Kysely<ReadModelDatabase>): Promise<string | undefined> {
  const result = await sql<{ value: string }>`
    select current_setting('idle_in_transaction_session_timeout') as value
  `.execute(db);
  return result.rows[0]?.value;
}

describe("the lease fence", () => {
  it("ends a transaction that stops between two statements after the lease's time-to-live, freeing its checkpoint row", {
    timeout: 30_000,
  }, async () => {
    const lease = leaseOf(3001);
    expect(await session.tryLock(lease.key)).toBe(true);
    await checkpointOn(ctx.db, lease).read();
    // A replica frozen mid-batch: fenced, its checkpoint row locked, then nothing more is sent.
    let resume: () => void = () => {};
    const resumed = new Promise<void>((resolve) => {
      resume = resolve;
    });
    let locked: () => void = () => {};
    const rowLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const frozenBatch = frozenPool.transaction().execute(async (trx) => {
      await checkpointOn(frozenPool, lease).lock(trx);
      locked();
      await resumed;
      await checkpointOn(frozenPool, lease).store(trx, 999);
    });
    frozenBatch.catch(() => {});
    await rowLocked;

    // The next holder locks the row as its first batch does; it waits only for the time-to-live,
    // not for the freeze to end (here it never would before the test's timeout).
    const startedAt = Date.now();
    await ctx.db.transaction().execute(async (trx) => {
      await sql`set local statement_timeout = 10000`.execute(trx);
      await trx
        .selectFrom("read_model.projection_partition_positions")
        .select("stream_seq")
        .where("consumer", "=", "projection-cluster")
        .where("partition_count", "=", partition.count)
        .where("partition_index", "=", partition.index)
        .forUpdate()
        .execute();
    });
    const waitedMs = Date.now() - startedAt;
    expect(waitedMs).toBeGreaterThanOrEqual(IDLE_TIMEOUT_MS - 200);
    expect(waitedMs).toBeLessThan(IDLE_TIMEOUT_MS + 5_000);

    // The frozen replica runs again: its transaction is gone, nothing of it commits.
    resume();
    await expect(frozenBatch).rejects.toThrow();
    const stored = await ctx.db
      .selectFrom("read_model.projection_partition_positions")
      .select("stream_seq")
      .where("consumer", "=", "projection-cluster")
      .where("partition_count", "=", partition.count)
      .where("partition_index", "=", partition.index)
      .executeTakeFirstOrThrow();
    expect(stored.stream_seq).not.toBe(999);
  });

  it("leaves the server's idle-in-transaction timeout as it was once the transaction ends", async () => {
    const lease = leaseOf(3002);
    expect(await session.tryLock(lease.key)).toBe(true);
    // One connection: the setting is read again on the one the transaction used.
    const checkpoint = checkpointOn(frozenPool, lease);
    await checkpoint.read();
    await frozenPool.transaction().execute(async (trx) => {
      await checkpoint.lock(trx);
      expect(await idleInTransactionTimeout(trx)).toBe("1s");
    });
    expect(await idleInTransactionTimeout(frozenPool)).toBe("0");
  });

  it("refuses a lease of the right pid but another backend (a pid reused after the holder ended)", async () => {
    const lease = leaseOf(3003);
    expect(await session.tryLock(lease.key)).toBe(true);
    // 1 s after the Unix epoch: any backend but the lease session's.
    const checkpoint = checkpointOn(ctx.db, { ...lease, backendStart: "1000000" });
    await checkpoint.read();
    await expect(ctx.db.transaction().execute((trx) => checkpoint.lock(trx))).rejects.toThrow(
      /lease of test partition is not held by this replica/,
    );
    await expect(
      ctx.db.transaction().execute((trx) => checkpointOn(ctx.db, lease).lock(trx)),
    ).resolves.toBeTypeOf("number");
  });
});
