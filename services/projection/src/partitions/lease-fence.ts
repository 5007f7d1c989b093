import { advisoryLockHeldExpression, type HeldAdvisoryLock, type ReadModelDatabase } from "@kasmap/db";
import { type Kysely, sql } from "kysely";

/** One unit's lease: advisory lock (`classId`, `key`) held by the lease session's backend. */
export type UnitLease = HeldAdvisoryLock;

/**
 * The check every apply transaction of a leased unit makes first: throws while the lease is not
 * held by this replica's session (lost with its connection, or never taken), so a replica that
 * lost a unit stops applying it at its next batch even before it notices the loss. The error is
 * not a poison event: the consumer restarts from its checkpoint, and the lease round stops it.
 *
 * It also bounds how long the transaction may wait between two statements to `idleTimeoutMs`
 * (the lease's time-to-live): a replica frozen mid-batch holds the checkpoint row `for update`,
 * and the replica that takes its lease over would wait on that row until the freeze ends.
 * PostgreSQL ends such a transaction (and its session) instead; a live replica never pauses that
 * long between two statements of a batch (nothing in it waits for NATS). One statement:
 *
 * ```sql
 * select <advisoryLockHeldExpression(lease)> as held,
 *        set_config('idle_in_transaction_session_timeout', $idleTimeoutMs, true)
 * ```
 */
export function leaseFence(
  lease: UnitLease,
  label: string,
  idleTimeoutMs: number,
): (trx: Kysely<ReadModelDatabase>) => Promise<void> {
  return async (trx) => {
    const result = await sql<{ held: boolean }>`
      select ${advisoryLockHeldExpression(lease)} as held,
             set_config('idle_in_transaction_session_timeout', ${String(idleTimeoutMs)}, true)
    `.execute(trx);
    if (result.rows[0]?.held !== true) throw new Error(`the lease of ${label} is not held by this replica`);
  };
}
