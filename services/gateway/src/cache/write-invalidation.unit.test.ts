import type { Bus } from "@kasmap/bus";
import { createTopology, type KasmapEvent } from "@kasmap/contracts";
import { testEvents } from "@kasmap/testing";
import { describe, expect, it } from "vitest";
import { createGatewayCaches } from "./gateway-caches.ts";
import { dropCachesForWrite, MAX_WRITE_EVENTS_DROPPED_PER_KEY } from "./write-invalidation.ts";

const events = testEvents(createTopology("kasmap"));

/** A bus whose streams hold `stored` (seq → event); any other position is gone. */
function busHolding(stored: Map<number, KasmapEvent | "garbage">): Bus {
  const getMessage = async (_stream: string, { seq }: { seq: number }) => {
    const event = stored.get(seq);
    if (event === undefined) throw new Error("no message found");
    return { data: new TextEncoder().encode(event === "garbage" ? "{not json" : JSON.stringify(event)) };
  };
  return { jsm: { streams: { getMessage } } } as unknown as Bus;
}

/** Caches holding heartbeats of agents 7 and 8 and a principal of user 5. */
async function warmCaches() {
  const caches = createGatewayCaches({ isEnabled: () => true, ttlMs: 60_000, maxBytes: 64 * 1024 * 1024 });
  await caches.connections.get(7, async () => seen(1));
  await caches.connections.get(8, async () => seen(2));
  await caches.projects.get("id:3", async () => null);
  return caches;
}
const at = (seq: number) => ({ stream: "KASMAP_REGISTRY", seq });

/** An agent's connections as cached: last seen at `ms`, no collectors. */
const seen = (ms: number) => ({ lastHeartbeat: new Date(ms), silenceConfirmedAt: null, collectors: [] });

describe("dropCachesForWrite", () => {
  it("drops only what the notices of the write's own events will drop", async () => {
    const caches = await warmCaches();
    const bus = busHolding(new Map([[1, events.heartbeat(7, "2026-01-01T00:00:00.000Z")]]));
    expect(await dropCachesForWrite(bus, caches, [at(1)])).toBe("per_key");
    expect(caches.connections.peek(7)).toBeUndefined();
    expect(caches.connections.peek(8)).toEqual(seen(2));
    expect(caches.projects.peek("id:3")).toBeNull();
  });

  it("drops nothing for a write without events", async () => {
    const caches = await warmCaches();
    expect(await dropCachesForWrite(busHolding(new Map()), caches, [])).toBe("per_key");
    expect(caches.connections.size).toBe(2);
  });

  it("clears every cache when an event cannot be read back or parsed, or there are too many", async () => {
    for (const [stored, positions] of [
      [new Map(), [at(1)]],
      [new Map([[1, "garbage" as const]]), [at(1)]],
      [
        new Map([[1, events.heartbeat(7, "2026-01-01T00:00:00.000Z")]]),
        Array.from({ length: MAX_WRITE_EVENTS_DROPPED_PER_KEY + 1 }, () => at(1)),
      ],
    ] as const) {
      const caches = await warmCaches();
      expect(await dropCachesForWrite(busHolding(stored), caches, positions)).toBe("cleared");
      expect(caches.connections.size + caches.projects.size).toBe(0);
    }
  });
});
