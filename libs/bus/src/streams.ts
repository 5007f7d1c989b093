import type { StreamDeclaration, StreamRole } from "@kasmap/contracts";
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { PermissionViolationError } from "@nats-io/nats-core";
import type { Bus } from "./bus.ts";

/** JetStream API error 10058: "stream name already in use" (not in the client's code table). */
const STREAM_NAME_IN_USE = 10058;

/**
 * The JetStream configuration of a declared stream. An audit stream (every stream but the
 * heartbeats) loses messages only to its max age: no message, byte or per-subject limit, and
 * `discard: new`, so should a limit ever be reached (an operator's `max_bytes`, the account's
 * storage) the server refuses new messages, which publishers see and retry, instead of silently
 * deleting the oldest history (issue 7.6). Heartbeats keep only the latest per collector, which
 * needs `discard: old`, and are bounded in bytes (`HEARTBEAT_STREAM_MAX_BYTES`) since collectors
 * can invent collector ids. `max_msg_size` bounds every message (`maxMsgBytes`).
 */
export function streamConfig(declaration: StreamDeclaration): Partial<StreamConfig> & { name: string } {
  return {
    name: declaration.name,
    subjects: [...declaration.subjects],
    description: declaration.description,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: declaration.latestPerSubject ? DiscardPolicy.Old : DiscardPolicy.New,
    max_age: declaration.maxAgeNs,
    duplicate_window: declaration.duplicateWindowNs,
    max_msgs_per_subject: declaration.latestPerSubject ? 1 : -1,
    max_msgs: -1,
    max_bytes: declaration.maxBytes,
    max_msg_size: declaration.maxMsgBytes,
    // Allows replaying the audit log from a point in time with direct gets.
    allow_direct: true,
    // Copies on a JetStream cluster; a change (R1 -> R3) is applied by `ensureStreams`' update.
    num_replicas: declaration.replicas,
  };
}

/**
 * Creates every stream of the bus's topology, or updates it to the declaration. Idempotent:
 * every service calls it at start-up, in any order, concurrently. A stream that already matches
 * its declaration is left alone (no write), so services whose NATS user may only read the
 * streams (infra/nats/render-authorization.ts: only authz declares them) pass through here once
 * authz has declared them.
 */
export async function ensureStreams(bus: Bus): Promise<void> {
  for (const declaration of bus.topology.streams) await ensureDeclared(bus, declaration);
}

/**
 * Ensures one declared stream, e.g. the one a service publishes to; the same rules as
 * `ensureStreams` (no write when it already matches; a clear error for a read-only NATS user).
 */
export async function ensureStreamOf(bus: Bus, role: StreamRole): Promise<void> {
  const declaration = bus.topology.streams.find((stream) => stream.role === role);
  if (!declaration) throw new RangeError(`the topology declares no ${role} stream`);
  await ensureDeclared(bus, declaration);
}

async function ensureDeclared(bus: Bus, declaration: StreamDeclaration): Promise<void> {
  try {
    await ensureStream(bus, declaration);
  } catch (error) {
    if (!isPermissionViolation(error)) throw error;
    throw new Error(
      `stream ${declaration.name} is missing or differs from its declaration, and this NATS user may not declare streams: start authz first (it declares them)`,
      { cause: error },
    );
  }
}

async function ensureStream(bus: Bus, declaration: StreamDeclaration): Promise<void> {
  const config = streamConfig(declaration);
  try {
    const info = await bus.jsm.streams.info(declaration.name);
    if (!matchesDeclaration(info.config, config)) await bus.jsm.streams.update(declaration.name, config);
  } catch (error) {
    if (!isStreamNotFound(error)) throw error;
    try {
      await bus.jsm.streams.add(config);
    } catch (addError) {
      // Another service created it between our info and add: fine, it is the same declaration.
      if (!(addError instanceof JetStreamApiError) || addError.code !== STREAM_NAME_IN_USE) {
        throw addError;
      }
    }
  }
}

/** Every declared setting already holds on the server (subjects in any order). */
function matchesDeclaration(current: StreamConfig, declared: Partial<StreamConfig>): boolean {
  return Object.entries(declared).every(([key, value]) => {
    const actual: unknown = current[key as keyof StreamConfig];
    if (Array.isArray(value)) {
      return (
        Array.isArray(actual) && actual.length === value.length && value.every((v) => actual.includes(v))
      );
    }
    return actual === value;
  });
}

function isPermissionViolation(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (e instanceof PermissionViolationError) return true;
  }
  return false;
}

function isStreamNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound;
}
