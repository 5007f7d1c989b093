import { type Bus, type EventConsumer, type MessageMeta, startEventConsumer } from "@kasmap/bus";
import type { KasmapEvent, ReadModelNotice } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import type { Logger } from "@kasmap/logging";
import type { Kysely } from "kysely";
import { applyEventToReadModel } from "./apply-event.ts";
import { loadAuditPreviousState, recordAuditEvents } from "./audit-event-store.ts";
import { auditEventsFor } from "./audit-events.ts";
import { changeNoticesFor, publishChangeNotices } from "./change-notices.ts";
import { classifyDatabaseError } from "./permanent-database-error.ts";
import { claimPosition } from "./projection-positions.ts";

/**
 * The projection's durable consumers, one per stream role. The durable name is also the key
 * of the consumer's row in `read_model.projection_positions`.
 */
export const PROJECTION_CONSUMERS = [
  { stream: "registry", durable: "projection-registry" },
  { stream: "authz", durable: "projection-authz" },
  { stream: "cluster", durable: "projection-cluster" },
  { stream: "heartbeat", durable: "projection-heartbeat" },
] as const;

/**
 * Applies one message in one transaction together with the consumer's position, and returns
 * the change notices to publish once it committed; none if the message was applied before.
 */
export async function projectMessage(
  db: Kysely<ReadModelDatabase>,
  consumer: string,
  event: KasmapEvent,
  meta: MessageMeta,
): Promise<ReadModelNotice[]> {
  const position = { stream: meta.stream, seq: meta.seq };
  try {
    return await db.transaction().execute(async (trx) => {
      if (!(await claimPosition(trx, consumer, position))) return [];
      // The audit log compares with the state the event replaces, so it is read first.
      const previous = await loadAuditPreviousState(trx, event);
      await applyEventToReadModel(trx, event, position);
      await recordAuditEvents(trx, event, auditEventsFor(event, previous), position);
      return changeNoticesFor(event, position);
    });
  } catch (error) {
    throw classifyDatabaseError(error);
  }
}

/** Starts one durable consumer that projects its stream into the read model. */
export function startProjectionConsumer(
  bus: Bus,
  db: Kysely<ReadModelDatabase>,
  logger: Logger,
  declaration: (typeof PROJECTION_CONSUMERS)[number],
): EventConsumer {
  return startEventConsumer(bus, {
    stream: declaration.stream,
    durable: declaration.durable,
    async handle(event, meta) {
      const notices = await projectMessage(db, declaration.durable, event, meta);
      publishChangeNotices(bus, notices);
    },
    onProblem({ kind, meta, reason }) {
      // Only positions and the reason: payloads stay out of logs (the dead letter keeps them).
      const fields = {
        consumer: declaration.durable,
        stream: meta.stream,
        seq: meta.seq,
        subject: meta.subject,
      };
      if (kind === "dead-lettered") logger.error({ ...fields, reason }, "event dead-lettered");
      else logger.warn({ ...fields, deliveryCount: meta.deliveryCount, reason }, "retrying event");
    },
  });
}
