import { outboxStatusOf } from "../outbox.ts";
import type { CommandHandler } from "./command-deps.ts";

/**
 * `outbox.status`: pending rows (and the age of the oldest) and set-aside rows, answered by authz
 * from its own schema so that readiness and metrics elsewhere never read authz's tables.
 */
export const reportOutboxStatus: CommandHandler<"outbox.status"> = async (deps) => ({
  result: await outboxStatusOf(deps.db),
  positions: [],
});
