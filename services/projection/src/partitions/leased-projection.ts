import { type Bus, backoffDelayMs, type CheckpointedConsumer, sleep } from "@kasmap/bus";
import { type AdvisoryLockSession, openAdvisoryLockSession, type ReadModelDatabase } from "@kasmap/db";
import type { Logger } from "@kasmap/logging";
import type { Kysely } from "kysely";
import { startProjectionConsumer } from "../consume/projection-consumer.ts";
import { consumerCheckpoint } from "../consume/projection-positions.ts";
import { UnknownAgentGrace } from "../consume/unknown-agent-grace.ts";
import { type CollectorLimits, DEFAULT_LEASE_TTL_SECONDS } from "../projection-env.ts";
import type { ProjectionMetrics } from "../projection-metrics.ts";
import { partitionOfAgentSubject, partitionOfToken } from "./agent-partition.ts";
import { leaseFence } from "./lease-fence.ts";
import { planLeaseRound } from "./lease-plan.ts";
import { partitionCheckpoint } from "./partition-checkpoint.ts";
import { type ProjectionUnit, projectionUnits } from "./projection-units.ts";

/** `pg_try_advisory_lock(PARTITION_LEASE_CLASS, unit.leaseKey)`: the lease of one unit. */
/**
 * The least idle time an apply transaction is allowed between two statements, whatever the lease
 * TTL: a live replica's batch may spend a moment in JavaScript (a large snapshot batch, a GC)
 * between statements, and ending it would only make it retry the same batch. The lease session's
 * own TTL already frees a frozen replica's units; this bounds how long its open transaction holds
 * the checkpoint row from the successor.
 */
const MIN_APPLY_IDLE_MS = 5_000;

export const PARTITION_LEASE_CLASS = 0x6b71;
/**
 * `pg_advisory_lock_shared(REPLICA_PRESENCE_CLASS, partitions)`: held by every live replica, so
 * each can count the others (their fair share) and see one configured with other partitions.
 */
export const REPLICA_PRESENCE_CLASS = 0x6b72;
/** How often a replica re-counts the live replicas and tries the free leases, ms. */
export const DEFAULT_LEASE_POLL_MS = 1_000;
/**
 * How long a replica's process may stop running before PostgreSQL ends its lease session, and
 * with it its leases and its open apply transactions, ms (`DEFAULT_LEASE_TTL_SECONDS`). A live
 * replica keeps its session however slow its batches (the session sends `select 1` on its own),
 * so only a pause of the whole process this long evicts it.
 */
export const DEFAULT_LEASE_TTL_MS = DEFAULT_LEASE_TTL_SECONDS * 1000;

export type LeasedProjectionOptions = {
  bus: Bus;
  db: Kysely<ReadModelDatabase>;
  logger: Logger;
  limits: CollectorLimits;
  /** Counts applied messages per consumer (`kasmap_projection_events_applied_total`). */
  metrics?: Pick<ProjectionMetrics, "applied">;
  databaseUrl: string;
  /** Partitions per partitioned stream; every replica on one read model must use the same. */
  partitions: number;
  /** Names this replica in `pg_stat_activity` and logs. */
  replicaId: string;
  /** @default DEFAULT_LEASE_POLL_MS */
  leasePollMs?: number;
  /** @default DEFAULT_LEASE_TTL_MS */
  leaseTtlMs?: number;
};

export type LeasedProjection = {
  /** The labels of the units this replica runs now. */
  held(): string[];
  /** Stops every consumer after its batch in hand, then ends the lease session (releasing all). */
  stop(): Promise<void>;
};

/**
 * Runs this replica's share of the projection's units (`projectionUnits`): each unit is
 * leased with a session-level advisory lock on one dedicated session (`openAdvisoryLockSession`)
 * and consumed only while it is held. Every `leasePollMs` the replica counts the live replicas
 * (their presence locks), gives back leases above its fair share and tries free ones below it
 * (`planLeaseRound`); a dead replica's session ends and its locks with it, so the others take its
 * units on their next round; so does a replica whose process stops running for `leaseTtlMs` (the
 * lease session's time-to-live, `openAdvisoryLockSession`). A unit's apply transaction first
 * checks that the lease is still held by this session (`leaseFence`, which also has PostgreSQL
 * end the transaction of a replica frozen mid-batch after `leaseTtlMs`), and its checkpoint row
 * is locked `for update` and compared with the batch: a replica that lost its lease mid-batch
 * can neither apply nor overwrite what the new holder applied. Losing the session stops every
 * consumer; the replica then opens a new one and competes again. The first round runs before
 * this resolves, so a lone replica runs every unit when it returns. Throws when a live replica
 * uses other partitions.
 */
export async function startLeasedProjection(options: LeasedProjectionOptions): Promise<LeasedProjection> {
  const { bus, logger, partitions, replicaId } = options;
  const pollMs = options.leasePollMs ?? DEFAULT_LEASE_POLL_MS;
  const ttlMs = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  const units = projectionUnits(partitions);
  const byKey = new Map(units.map((unit) => [unit.leaseKey, unit]));
  const unitKeys = units.map((unit) => unit.leaseKey);
  // A different starting point per replica: replicas starting together try different units first.
  const startAt = partitionOfToken(replicaId, units.length);
  const running = new Map<number, CheckpointedConsumer>();
  const controller = new AbortController();
  // One per replica: a unit given back and taken again keeps its agents' graces.
  const unknownAgentGrace = new UnknownAgentGrace({ graceMs: options.limits.unknownAgentGraceMs });

  const lostSessions = new WeakMap<AdvisoryLockSession, Error>();

  async function openSession(): Promise<AdvisoryLockSession> {
    const session = await openAdvisoryLockSession({
      url: options.databaseUrl,
      classId: PARTITION_LEASE_CLASS,
      applicationName: `kasmap-projection-leases:${replicaId}`,
      idleTimeoutMs: ttlMs,
    });
    void session.lost.then((error) => lostSessions.set(session, error));
    try {
      await session.lockShared(REPLICA_PRESENCE_CLASS, partitions);
      const others = [...(await session.holders(REPLICA_PRESENCE_CLASS)).keys()].filter(
        (n) => n !== partitions,
      );
      if (others.length > 0) {
        throw new Error(
          `projection replicas with ${others.join(", ")} partitions run on this read model; every replica must use the same KASMAP_PROJECTION_PARTITIONS (this one: ${partitions})`,
        );
      }
      return session;
    } catch (error) {
      await session.close();
      throw error;
    }
  }

  function startUnit(unit: ProjectionUnit, session: AdvisoryLockSession): CheckpointedConsumer {
    const { declaration, partition } = unit;
    const stream = bus.topology.streamNames[declaration.stream];
    const fence = leaseFence(
      {
        classId: PARTITION_LEASE_CLASS,
        key: unit.leaseKey,
        pid: session.pid,
        backendStart: session.backendStart,
      },
      unit.label,
      Math.max(ttlMs, MIN_APPLY_IDLE_MS),
    );
    const checkpoint = partition
      ? partitionCheckpoint(options.db, { consumer: declaration.durable, stream, partition }, fence)
      : consumerCheckpoint(options.db, declaration.durable, stream, fence);
    return startProjectionConsumer(
      bus,
      options.db,
      logger,
      {
        declaration,
        checkpoint,
        label: unit.label,
        ...(partition
          ? {
              owns: (subject: string) =>
                partitionOfAgentSubject(subject, partition.count) === partition.index,
            }
          : {}),
      },
      {
        limits: options.limits,
        unknownAgentGrace,
        ...(options.metrics ? { metrics: options.metrics } : {}),
      },
    );
  }

  async function leaseRound(session: AdvisoryLockSession): Promise<void> {
    const live = (await session.holders(REPLICA_PRESENCE_CLASS)).get(partitions) ?? 1;
    const plan = planLeaseRound({
      units: unitKeys,
      held: new Set(running.keys()),
      liveReplicas: live,
      startAt,
    });
    for (const key of plan.release) {
      // Stopped before the lock is released: the next holder never overlaps a batch of ours.
      await running.get(key)?.stop();
      running.delete(key);
      await session.unlock(key);
      logger.info({ unit: byKey.get(key)?.label, replica: replicaId }, "lease given back for balance");
    }
    let wanted = plan.acquire;
    for (const key of plan.tryInOrder) {
      if (wanted === 0 || controller.signal.aborted) break;
      const unit = byKey.get(key);
      if (!unit || !(await session.tryLock(key))) continue;
      running.set(key, startUnit(unit, session));
      wanted--;
      logger.info({ unit: unit.label, replica: replicaId, liveReplicas: live }, "lease taken");
    }
  }

  async function stopAll(): Promise<void> {
    await Promise.all([...running.values()].map((consumer) => consumer.stop()));
    running.clear();
  }

  let session: AdvisoryLockSession | null = await openSession();
  try {
    await leaseRound(session);
  } catch (error) {
    await stopAll();
    await session.close();
    throw error;
  }

  const loop = (async () => {
    for (let attempt = 0; !controller.signal.aborted; ) {
      // A replica without NATS applies nothing: it gives its leases up for the others.
      if (bus.nc.isClosed()) break;
      try {
        session ??= await openSession();
        await sleep(pollMs, controller.signal);
        if (controller.signal.aborted || bus.nc.isClosed()) break;
        // A lost session fails the round's queries too; this names the cause when it is known.
        const lost = lostSessions.get(session);
        if (lost) throw lost;
        await leaseRound(session);
        attempt = 0;
      } catch (error) {
        attempt++;
        logger.warn(
          {
            replica: replicaId,
            held: [...running.keys()].map((key) => byKey.get(key)?.label),
            error: String(error),
          },
          "lease session failed: stopping every consumer, then competing for leases again",
        );
        await stopAll();
        await session?.close();
        session = null;
        await sleep(backoffDelayMs(attempt, 200, 5_000), controller.signal);
      }
    }
    await stopAll();
    await session?.close();
    session = null;
  })();

  return {
    held: () => [...running.keys()].map((key) => byKey.get(key)?.label ?? String(key)),
    async stop() {
      controller.abort();
      await loop;
    },
  };
}
