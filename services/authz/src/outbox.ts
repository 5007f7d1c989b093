import type { Bus } from "@kasmap/bus";
import type { Logger } from "@kasmap/logging";
import {
  createOutboxPublisher as createPublisher,
  type OutboxPublisher,
  type OutboxPublisherOptions,
  type OutboxStatus,
  type OutboxTable,
  outboxStatusOf as statusOf,
} from "@kasmap/runtime/outbox";
import { LOCK_CLASS, OUTBOX_LOCK } from "./locks.ts";
import type { AuthzDb } from "./store/schema.ts";

export type { OutboxPublisher, OutboxStatus };

/**
 * authz's transactional outbox: `authz.outbox`, published under the `OUTBOX_LOCK` advisory lock
 * by `@kasmap/runtime/outbox` (in id order, `Nats-Msg-Id` = event id, unpublishable rows set
 * aside with the reason: issue 7.3).
 */
const AUTHZ_OUTBOX: OutboxTable = { name: "authz.outbox", lock: { classId: LOCK_CLASS, key: OUTBOX_LOCK } };

/**
 * The publisher of `authz.outbox` (`kasmap_authz_outbox_set_aside_total` is its `setAsideTotal`);
 * it deletes published rows older than `options.retentionMs` (default one hour).
 */
export function createOutboxPublisher(
  db: AuthzDb,
  bus: Bus,
  logger: Logger,
  options: Pick<OutboxPublisherOptions, "retentionMs" | "pruneIntervalMs"> = {},
): OutboxPublisher {
  return createPublisher(db, bus, logger, AUTHZ_OUTBOX, options);
}

/** Counts from `authz.outbox` (so across restarts and replicas), for `outbox.status`. */
export function outboxStatusOf(db: AuthzDb): Promise<OutboxStatus> {
  return statusOf(db, AUTHZ_OUTBOX);
}
