import { type Bus, deadLetterCount, observeDeadLetters } from "@kasmap/bus";
import { Counter, Gauge, type Registry } from "prom-client";
import { sharedMetric } from "./metrics-registry.ts";

/**
 * Counts what happens to one service's NATS connection, from the nats.js connection's status
 * events, and the dead letters the service stores through it (`publishDeadLetter`):
 *
 * - `kasmap_nats_disconnects_total{service}`, `kasmap_nats_reconnects_total{service}`;
 * - `kasmap_nats_connected{service}`: 1 while connected, 0 between a disconnect and the
 *   reconnect;
 * - `kasmap_dead_letters_total{service,consumer}`: `consumer` is the consumer's fixed name
 *   (`projection-cluster`, `gitlab-sync-inbox`, …), so the label set stays small.
 *
 * `service` tells apart the services that share one registry under `npm start`. Returns the
 * function that stops counting (the bus itself belongs to the caller).
 */
export function instrumentBus(registry: Registry, bus: Bus, service: string): () => void {
  const counter = (name: string, help: string, labelNames: string[]) =>
    sharedMetric(registry, name, () => new Counter({ name, help, labelNames, registers: [registry] }));
  const disconnects = counter(
    "kasmap_nats_disconnects_total",
    "Times the service's NATS connection was lost (nats.js `disconnect` status).",
    ["service"],
  );
  const reconnects = counter(
    "kasmap_nats_reconnects_total",
    "Times the service's NATS connection came back (nats.js `reconnect` status).",
    ["service"],
  );
  const deadLetters = counter(
    "kasmap_dead_letters_total",
    "Messages the service rejected and stored on the dead-letter stream, by consumer.",
    ["service", "consumer"],
  );
  const connected = sharedMetric(
    registry,
    "kasmap_nats_connected",
    () =>
      new Gauge({
        name: "kasmap_nats_connected",
        help: "1 while the service's NATS connection is up, 0 between a disconnect and the reconnect.",
        labelNames: ["service"],
        registers: [registry],
      }),
  );
  // Zero samples from the start, so `increase()` sees the first event.
  disconnects.inc({ service }, 0);
  reconnects.inc({ service }, 0);
  connected.set({ service }, bus.nc.isClosed() ? 0 : 1);

  const status = bus.nc.status();
  void (async () => {
    for await (const event of status) {
      if (event.type === "disconnect") {
        disconnects.inc({ service });
        connected.set({ service }, 0);
      } else if (event.type === "reconnect") {
        reconnects.inc({ service });
        connected.set({ service }, 1);
      }
    }
    // The iterator ends when the connection closes for good.
    connected.set({ service }, 0);
  })().catch(() => {});
  const unobserve = observeDeadLetters(bus, (record) =>
    deadLetters.inc({ service, consumer: record.consumer }, deadLetterCount(record)),
  );
  return () => {
    unobserve();
    stopIterator(status);
  };
}

/** `status()` is typed as a plain AsyncIterable; its implementation can be stopped. */
function stopIterator(iterator: unknown): void {
  if (typeof iterator === "object" && iterator !== null && "stop" in iterator) {
    const stop = iterator.stop;
    if (typeof stop === "function") stop.call(iterator);
  }
}
