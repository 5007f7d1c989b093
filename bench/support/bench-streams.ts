import { randomBytes } from "node:crypto";
import { type Bus, connectBus, ensureStreams } from "@kasmap/bus";
import { createTopology } from "@kasmap/contracts";

/**
 * Runs `measure` with a connection named `name` to NATS_URL (default: the local server) and the
 * streams of a fresh topology (a random root, so no other run's events are counted), then
 * deletes those streams and closes the connection, whether `measure` finished or threw.
 */
export async function withBenchStreams<T>(name: string, measure: (bus: Bus) => Promise<T>): Promise<T> {
  process.env.NATS_URL ??= "nats://127.0.0.1:4222";
  const topology = createTopology(`bench${randomBytes(4).toString("hex")}`);
  const bus = await connectBus({ url: process.env.NATS_URL, name, topology });
  try {
    await ensureStreams(bus);
    return await measure(bus);
  } finally {
    for (const stream of topology.streams) await bus.jsm.streams.delete(stream.name).catch(() => {});
    await bus.close();
  }
}
