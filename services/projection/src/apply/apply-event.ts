import { EVENT_TYPES, KasmapError, type KasmapEvent, type StreamPosition } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import type { Kysely } from "kysely";
import { applyAuthzChanged } from "./apply-authz-event.ts";
import { applyClusterHeartbeat, applyClusterSnapshot } from "./apply-cluster-event.ts";
import { applyRegistryEvent } from "./apply-registry-event.ts";

/**
 * Where an event sits in the log (`StreamPosition`: the JetStream stream name and its sequence
 * there), and when the server stored it (absent for callers that replay without it: then the
 * event's time).
 */
export type AppliedPosition = StreamPosition & { storedAt?: Date };

/**
 * Applies one event to the read model inside the caller's transaction. Idempotent by
 * construction (upserts of whole state, replacement of whole grant sets); the caller's
 * position guard additionally skips messages already applied.
 */
export async function applyEventToReadModel(
  db: Kysely<ReadModelDatabase>,
  event: KasmapEvent,
  position: AppliedPosition,
): Promise<void> {
  switch (event.type) {
    case EVENT_TYPES.groupChanged:
    case EVENT_TYPES.projectChanged:
    case EVENT_TYPES.userChanged:
    case EVENT_TYPES.membershipChanged:
    case EVENT_TYPES.personalAccessTokenChanged:
    case EVENT_TYPES.agentChanged:
    case EVENT_TYPES.agentTokenChanged:
    case EVENT_TYPES.jobChanged:
      return applyRegistryEvent(db, event, position.storedAt ?? new Date(event.time));
    case EVENT_TYPES.authzChanged:
      return applyAuthzChanged(db, event.data, event.time);
    case EVENT_TYPES.clusterSnapshot:
      return applyClusterSnapshot(db, event.data, position.seq);
    case EVENT_TYPES.clusterHeartbeat:
      return applyClusterHeartbeat(db, event.data);
    case EVENT_TYPES.agentChangeRefused:
      // Changes nothing the read model holds: its audit event is all it leaves (audit/).
      return;
    case EVENT_TYPES.alertClusterChanged:
    case EVENT_TYPES.alertClusterConflict:
      // Alerts are what the projection publishes (its outbox), never what it applies: no
      // projection consumer reads the alerts stream, so only a forgery could bring one here.
      throw new KasmapError("poison_event", `${event.type} is raised by the projection, not applied`);
    default:
      return assertNever(event);
  }
}

function assertNever(event: never): never {
  throw new Error(`unhandled event ${JSON.stringify((event as { type?: unknown }).type)}`);
}
