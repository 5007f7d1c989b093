import { type Bus, parseEvent } from "@kasmap/bus";
import { changeNoticesFor, type StreamPosition } from "@kasmap/contracts";
import type { GatewayCaches } from "./gateway-caches.ts";

/**
 * Past this many events a write (a group move rewrites a whole subtree) clears every cache
 * instead of reading its events back one by one.
 */
export const MAX_WRITE_EVENTS_DROPPED_PER_KEY = 64;

/**
 * After a write this gateway forwarded has been applied, drops from `caches` exactly what the
 * projection's change notices for its events will drop, without waiting for them: a notice can
 * reach this process after the reply, and the caller's next read must not be served a cached
 * value from before its own write. The events are read back from their streams at `positions`
 * and turned into notices by the projection's own rule (`changeNoticesFor`), so other entries
 * stay cached. Clears everything when that cannot be done exactly: too many events, or one that
 * cannot be read or parsed.
 */
export async function dropCachesForWrite(
  bus: Bus,
  caches: GatewayCaches,
  positions: readonly StreamPosition[],
): Promise<"per_key" | "cleared"> {
  if (positions.length > MAX_WRITE_EVENTS_DROPPED_PER_KEY) {
    caches.clearAll();
    return "cleared";
  }
  try {
    const notices = await Promise.all(
      positions.map(async (position) => {
        const stored = await bus.jsm.streams.getMessage(position.stream, { seq: position.seq });
        if (!stored) throw new Error(`event ${position.stream}/${position.seq} is gone`);
        const parsed = parseEvent(stored.data);
        if (!parsed.ok) throw new Error(`event ${position.stream}/${position.seq}: ${parsed.reason}`);
        return changeNoticesFor(parsed.event, position);
      }),
    );
    for (const notice of notices.flat()) caches.noticeReceived(notice);
    return "per_key";
  } catch {
    caches.clearAll();
    return "cleared";
  }
}
