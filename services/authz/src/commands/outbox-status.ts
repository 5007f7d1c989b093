import { outboxStatusOf } from "../outbox.ts";
import type { CommandHandler } from "./command-deps.ts";

/** `outbox.status`: pending and set-aside outbox rows (no actor; counts only). */
export const reportOutboxStatus: CommandHandler<"outbox.status"> = async (deps) => ({
  result: await outboxStatusOf(deps.db),
  positions: [],
});
