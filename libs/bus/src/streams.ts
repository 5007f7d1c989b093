import type { StreamDeclaration } from "@kasmap/contracts";
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import type { Bus } from "./bus.ts";

/** JetStream API error 10058: "stream name already in use" (not in the client's code table). */
const STREAM_NAME_IN_USE = 10058;

export function streamConfig(declaration: StreamDeclaration): Partial<StreamConfig> & { name: string } {
  return {
    name: declaration.name,
    subjects: [...declaration.subjects],
    description: declaration.description,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: declaration.maxAgeNs,
    duplicate_window: declaration.duplicateWindowNs,
    max_msgs_per_subject: declaration.latestPerSubject ? 1 : -1,
    // Allows replaying the audit log from a point in time with direct gets.
    allow_direct: true,
  };
}

/**
 * Creates every stream of the bus's topology, or updates it to the declaration. Idempotent:
 * every service calls it at start-up, in any order, concurrently.
 */
export async function ensureStreams(bus: Bus): Promise<void> {
  for (const declaration of bus.topology.streams) {
    const config = streamConfig(declaration);
    try {
      await bus.jsm.streams.info(declaration.name);
      await bus.jsm.streams.update(declaration.name, config);
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
}

function isStreamNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound;
}
