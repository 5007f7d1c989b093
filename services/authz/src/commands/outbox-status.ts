import { sql } from "kysely";
import type { CommandHandler } from "./command-deps.ts";

/**
 * `outbox.status`: how many outbox rows wait to be published and how old the oldest is. Answered
 * by authz from its own schema, so readiness elsewhere never reads authz's tables. One indexed
 * scan of the unpublished rows (`outbox_unpublished` is a partial index on them).
 */
export const outboxStatus: CommandHandler<"outbox.status"> = async (deps) => {
  const row = await deps.db
    .selectFrom("authz.outbox")
    .select([
      (eb) => eb.fn.countAll<number>().as("pending"),
      sql<number | null>`extract(epoch from now() - min(created_at))::float8`.as("oldest"),
    ])
    .where("published_at", "is", null)
    .executeTakeFirstOrThrow();
  const pending = Number(row.pending);
  const oldest = row.oldest === null ? null : Math.max(0, Number(row.oldest));
  return { result: { pending, oldest_pending_age_seconds: oldest }, positions: [] };
};
