import { EVENT_TYPES, type KasmapEvent, type StreamPosition } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import type { Kysely } from "kysely";
import { applyAuthzChanged } from "./apply-authz-event.ts";
import { applyClusterHeartbeat, applyClusterSnapshot } from "./apply-cluster-event.ts";
import {
  applyAgent,
  applyAgentToken,
  applyGroup,
  applyJob,
  applyMembership,
  applyPersonalAccessToken,
  applyProject,
  applyUser,
} from "./apply-registry-event.ts";

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
      return applyGroup(db, event.data.group);
    case EVENT_TYPES.projectChanged:
      return applyProject(db, event.data.project);
    case EVENT_TYPES.userChanged:
      return applyUser(db, event.data.user);
    case EVENT_TYPES.membershipChanged:
      return applyMembership(db, event.data.membership);
    case EVENT_TYPES.personalAccessTokenChanged:
      return applyPersonalAccessToken(db, event.data.token);
    case EVENT_TYPES.agentChanged:
      return applyAgent(db, event.data.agent);
    case EVENT_TYPES.agentTokenChanged:
      return applyAgentToken(db, event.data.token, position.storedAt ?? new Date(event.time));
    case EVENT_TYPES.jobChanged:
      return applyJob(db, event.data.job);
    case EVENT_TYPES.authzChanged:
      return applyAuthzChanged(db, event.data, event.time);
    case EVENT_TYPES.clusterSnapshot:
      return applyClusterSnapshot(db, event.data, position.seq);
    case EVENT_TYPES.clusterHeartbeat:
      return applyClusterHeartbeat(db, event.data);
    default:
      return assertNever(event);
  }
}

function assertNever(event: never): never {
  throw new Error(`unhandled event ${JSON.stringify((event as { type?: unknown }).type)}`);
}
