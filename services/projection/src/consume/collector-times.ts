import { EVENT_TYPES, type KasmapEvent } from "@kasmap/contracts";

/** The earlier of an ISO time and `limit`, as ISO (an unparsable time becomes `limit`). */
function notAfter(iso: string, limit: Date): string {
  const time = Date.parse(iso);
  return Number.isNaN(time) || time > limit.getTime() ? limit.toISOString() : iso;
}

/**
 * A collector event with every time it reports clamped to `storedAt`, when the server stored
 * the message (issue 7.6). A collector writes its own times; one dated in the future would
 * otherwise pin its agent "connected" (heartbeat `sent_at`) or sort after every later snapshot
 * (`observed_at`). Times in the past are kept: they only make the collector look older. Other
 * events come from trusted services and are returned as they are.
 */
export function clampCollectorTimes(event: KasmapEvent, storedAt: Date): KasmapEvent {
  switch (event.type) {
    case EVENT_TYPES.clusterSnapshot:
      return {
        ...event,
        time: notAfter(event.time, storedAt),
        data: {
          ...event.data,
          cluster: { ...event.data.cluster, observed_at: notAfter(event.data.cluster.observed_at, storedAt) },
        },
      };
    case EVENT_TYPES.clusterHeartbeat:
      return {
        ...event,
        time: notAfter(event.time, storedAt),
        data: { ...event.data, sent_at: notAfter(event.data.sent_at, storedAt) },
      };
    default:
      return event;
  }
}
