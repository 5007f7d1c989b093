import type { Bus } from "@kasmap/bus";
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import { PROJECTION_CONSUMERS } from "../consume/projection-consumer.ts";

/**
 * Deletes the durable JetStream consumers that versions before checkpointed consumption
 * created (named like today's consumers). Nothing reads them any more; left in place they
 * would keep their state on the server for good. Idempotent: a missing one is fine.
 */
export async function deleteLegacyDurableConsumers(bus: Bus): Promise<void> {
  for (const { stream, durable } of PROJECTION_CONSUMERS) {
    try {
      await bus.jsm.consumers.delete(bus.topology.streamNames[stream], durable);
    } catch (error) {
      const missing = error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound;
      if (!missing) throw error;
    }
  }
}
