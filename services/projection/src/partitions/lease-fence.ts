import { advisoryLockHeld, type ReadModelDatabase } from "@kasmap/db";
import type { Kysely } from "kysely";

/** One unit's lease: advisory lock (`classId`, `key`) held by the session with backend `pid`. */
export type UnitLease = { classId: number; key: number; pid: number };

/**
 * The check every apply transaction of a leased unit makes first: throws while the lease is not
 * held by this replica's session (lost with its connection, or never taken), so a replica that
 * lost a unit stops applying it at its next batch even before it notices the loss. The error is
 * not a poison event: the consumer restarts from its checkpoint, and the lease round stops it.
 */
export function leaseFence(
  lease: UnitLease,
  label: string,
): (trx: Kysely<ReadModelDatabase>) => Promise<void> {
  return async (trx) => {
    if (!(await advisoryLockHeld(trx, lease)))
      throw new Error(`the lease of ${label} is not held by this replica`);
  };
}
