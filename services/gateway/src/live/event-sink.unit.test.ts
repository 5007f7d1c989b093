import { EventEmitter } from "node:events";
import { EVENT_TYPES, type KasmapEvent } from "@kasmap/contracts";
import { createLogger } from "@kasmap/logging";
import { describe, expect, it } from "vitest";
import type { GatewayContext } from "../context.ts";
import { EventSink, MAX_QUEUED_PER_CLIENT } from "./event-sink.ts";
import type { LiveEvent } from "./shared-live-feed.ts";

/** A socket whose reader never reads: every write reports a full buffer and no drain comes. */
class StalledSocket extends EventEmitter {
  writes = 0;
  destroyed = false;
  write(): boolean {
    this.writes++;
    return false;
  }
  destroy(): void {
    this.destroyed = true;
  }
}

const ctx = { logger: createLogger("sink-test", "silent") } as unknown as GatewayContext;
const admin = { id: 1, username: "root", name: "Root", isAdmin: true };

/** The sink only frames events (an admin sees everything): a minimal stand-in will do. */
function liveEvent(seq: number): LiveEvent {
  const event = { type: EVENT_TYPES.clusterHeartbeat, id: `e${seq}`, data: { agent_id: 1 } };
  return { event: event as unknown as KasmapEvent, position: { stream: "KASMAP_HEARTBEAT", seq } };
}

/** An admin's sink writing to a socket that never drains. */
function sinkOnStalledSocket(options: { holdLive: boolean }) {
  const socket = new StalledSocket();
  const writable = socket as unknown as NodeJS.WritableStream & { destroy(): void };
  return { socket, sink: new EventSink(ctx, admin, writable, undefined, options) };
}

describe("EventSink (issue 7.9: bounded buffers)", () => {
  it("disconnects a client that stops reading once its queue is full, instead of growing", async () => {
    const { socket, sink } = sinkOnStalledSocket({ holdLive: false });
    sink.open();
    for (let seq = 1; seq <= MAX_QUEUED_PER_CLIENT + 10; seq++) sink.push(liveEvent(seq));
    await new Promise((resolve) => setImmediate(resolve));
    expect(socket.destroyed).toBe(true);
    expect(sink.isClosed).toBe(true);
    // The opening comment and at most the one event in flight were written.
    expect(socket.writes).toBeLessThanOrEqual(2);
  });

  it("holds live events during a replay, bounded the same way", () => {
    const { socket, sink } = sinkOnStalledSocket({ holdLive: true });
    for (let seq = 1; seq <= MAX_QUEUED_PER_CLIENT; seq++) sink.push(liveEvent(seq));
    expect(socket.destroyed).toBe(false);
    sink.push(liveEvent(MAX_QUEUED_PER_CLIENT + 1));
    expect(socket.destroyed).toBe(true);
  });
});
