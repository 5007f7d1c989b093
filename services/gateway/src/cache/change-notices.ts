import type { Bus } from "@kasmap/bus";
import { ReadModelNoticeSchema } from "@kasmap/contracts";
import type { Logger } from "@kasmap/logging";
import type { GatewayCaches } from "./gateway-caches.ts";

export type ChangeNoticeFollower = {
  /** False while NATS is disconnected: notices may be missed, so nothing may be cached. */
  readonly connected: () => boolean;
  stop(): void;
};

/**
 * Subscribes to the projection's change notices (`<root>.readmodel.changed.<table>`, core NATS)
 * and drops the entries each names (`GatewayCaches.noticeReceived`); a body that does not parse
 * drops every cache depending on the subject's table. Core NATS delivers each notice to every
 * gateway replica; one lost in transit is bounded by the caches' TTL. Notices sent while disconnected are lost,
 * so a disconnect clears everything and switches caching off, and a reconnect clears again
 * (dropping loads that straddled the gap) before switching it back on. Resolves once the server
 * has the subscription, so no notice published afterwards can be missed.
 */
export async function followChangeNotices(
  bus: Bus,
  caches: GatewayCaches,
  logger: Logger,
): Promise<ChangeNoticeFollower> {
  let connected = true;
  const prefix = bus.topology.subjects.readModelChanged("");
  const subscription = bus.nc.subscribe(bus.topology.wildcards.readModelChanged, {
    callback: (error, message) => {
      if (error) {
        logger.warn({ err: error }, "change-notice subscription error; clearing caches");
        caches.clearAll();
        return;
      }
      const table = message.subject.slice(prefix.length);
      const notice = ReadModelNoticeSchema.safeParse(parseJson(message.data));
      caches.noticeReceived(notice.success && notice.data.table === table ? notice.data : { table });
    },
  });
  const statuses = bus.nc.status();
  void (async () => {
    for await (const status of statuses) {
      if (status.type === "disconnect" || status.type === "close") {
        connected = false;
        caches.clearAll();
      } else if (status.type === "reconnect") {
        caches.clearAll();
        connected = true;
      }
    }
  })();
  await bus.nc.flush();
  return {
    connected: () => connected && !bus.nc.isClosed(),
    stop() {
      subscription.unsubscribe();
      const iterator: unknown = statuses;
      if (typeof iterator === "object" && iterator !== null && "stop" in iterator) {
        const stop = iterator.stop;
        if (typeof stop === "function") stop.call(iterator);
      }
    },
  };
}

const decoder = new TextDecoder();

function parseJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(data));
  } catch {
    return undefined;
  }
}
