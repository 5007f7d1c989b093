import { refuseOverLimit } from "@kasmap/bus";
import {
  type EventType,
  type KasmapEvent,
  type StreamPosition,
  type Topology,
  utf8ByteLength,
} from "@kasmap/contracts";
import { sql } from "kysely";
import { LOCK_CLASS, REGISTRY_LOCK } from "./locks.ts";
import type { OutboxPublisher } from "./outbox.ts";
import type { AuthzDb, AuthzTx } from "./store/schema.ts";

/** What a command's work sees: its transaction, and where to put the events it causes. */
export type UnitOfWork = {
  readonly tx: AuthzTx;
  readonly topology: Topology;
  /** The user the change is attributed to in events; null for system changes (bootstrap). */
  readonly actorUserId: number | null;
  /** That user's client address, as the gateway read it; null when not known (system changes). */
  readonly actorIpAddress: string | null;
  /**
   * Queues an event for the outbox. One that could never be published throws
   * `payload_too_large`, so the command fails and rolls back instead of committing a change
   * whose event never reaches the log.
   */
  emit(event: KasmapEvent): void;
};

export type UnitOfWorkRunner = <R>(
  actorUserId: number | null,
  work: (unit: UnitOfWork) => Promise<R>,
  actorIpAddress?: string,
) => Promise<{ result: R; positions: StreamPosition[] }>;

/**
 * Runs `work` in one transaction holding the registry lock, writes the events it emitted to
 * `authz.outbox` in that same transaction, and after commit has the outbox publisher publish
 * them. Returns the stream positions of the command's own events (those published by now;
 * the relay publishes the rest later if NATS is away).
 *
 * @param maxEventBytes the current body limit of an event type, in bytes (read per event: a
 *   reconnect may reach a server with another `max_payload`).
 */
export function createUnitOfWorkRunner(
  db: AuthzDb,
  topology: Topology,
  outbox: OutboxPublisher,
  maxEventBytes: (type: EventType) => number,
): UnitOfWorkRunner {
  return async (actorUserId, work, actorIpAddress) => {
    const { result, ids } = await db.transaction().execute(async (tx) => {
      await sql`select pg_advisory_xact_lock(${LOCK_CLASS}::int, ${REGISTRY_LOCK}::int)`.execute(tx);
      // Serialized once: measured here, stored as is.
      const events: string[] = [];
      const emit = (event: KasmapEvent) => {
        const json = JSON.stringify(event);
        refuseOverLimit(`event ${event.type}`, utf8ByteLength(json), maxEventBytes(event.type));
        events.push(json);
      };
      const result = await work({
        tx,
        topology,
        actorUserId,
        actorIpAddress: actorIpAddress ?? null,
        emit,
      });
      const ids = await insertOutboxRows(tx, events);
      return { result, ids };
    });
    if (ids.length === 0) return { result, positions: [] };
    await outbox.flush();
    return { result, positions: await outbox.positionsOf(ids) };
  };
}

async function insertOutboxRows(tx: AuthzTx, events: readonly string[]): Promise<number[]> {
  if (events.length === 0) return [];
  const rows = await tx
    .insertInto("authz.outbox")
    .values(events.map((event) => ({ event })))
    .returning("id")
    .execute();
  // A multi-row insert assigns identity values in VALUES order.
  return rows.map((r) => r.id).sort((a, b) => a - b);
}
