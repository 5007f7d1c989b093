import { sql } from "kysely";
import type { AuthzExecutor } from "./store/schema.ts";

/**
 * The time a `mirror.*` put stamps as `mirrored_at`, and the time `mirror.walk.begin` answers: the
 * database's `now()` (the start of the transaction `db` runs in), read as a `Date` (milliseconds)
 * by both alike. One clock for every authz process and every sync host: a full reconcile sweeps
 * what no put stamped since its walk began, and were the stamps and that start read from two
 * hosts' clocks, a host running ahead would make the sweep remove what the walk had just put.
 * A put sent after `mirror.walk.begin` answered runs in a later transaction, so its stamp is
 * never earlier than the walk's start.
 *
 * SQL: `select now() as now`.
 */
export async function mirrorClock(db: AuthzExecutor): Promise<Date> {
  const { rows } = await sql<{ now: Date }>`select now() as now`.execute(db);
  const now = rows[0]?.now;
  if (now === undefined) throw new Error("select now() answered no row");
  return new Date(now);
}
