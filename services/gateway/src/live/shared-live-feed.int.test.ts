import { publishEvent } from "@kasmap/bus";
import { EVENT_TYPES, newKasmapEvent } from "@kasmap/contracts";
import { createLogger } from "@kasmap/logging";
import { buildClusterFacts, testEvents } from "@kasmap/testing";
import { eventually } from "@kasmap/testing/harness";
import { testWorldForFile } from "@kasmap/testing/world";
import { describe, expect, it } from "vitest";
import { replayLiveEvents } from "./replay-live-events.ts";
import { type LiveEvent, SharedLiveFeed } from "./shared-live-feed.ts";

/**
 * Issue 7.1: the live feed is a consumer of the streams too; a registry event a collector
 * forged onto its snapshot subject must not reach a live subscriber as a token or user change,
 * live or replayed after `Last-Event-ID`.
 */
const world = testWorldForFile({ name: "live-events-int-test", database: false });

function control(subject: string) {
  return newKasmapEvent({
    type: EVENT_TYPES.clusterSnapshot,
    source: "/test",
    subject,
    data: {
      agent_id: 7,
      content_hash: "0".repeat(64),
      cluster: buildClusterFacts({ cluster_name: "control" }),
    },
  });
}

describe("live events", () => {
  it("skip an event whose type does not belong on the subject it was published on, live and replayed", async () => {
    const received: LiveEvent[] = [];
    const feed = new SharedLiveFeed(world.bus, createLogger("live-test", "silent"));
    const subscription = await feed.subscribe((live) => received.push(live));
    try {
      const subject = world.topology.subjects.clusterSnapshot(7);
      const before = await publishEvent(world.bus, control(subject));
      const forged = { ...testEvents(world.topology).personalAccessToken(7, 1, null), subject };
      await world.bus.js.publish(subject, new TextEncoder().encode(JSON.stringify(forged)));
      await publishEvent(world.bus, control(subject));
      await eventually(
        () =>
          received.filter((r) => r.event.type === EVENT_TYPES.clusterSnapshot).length >= 2 ? true : undefined,
        "the control snapshots delivered",
      );
      expect(received.map((r) => r.event.type)).toEqual([
        EVENT_TYPES.clusterSnapshot,
        EVENT_TYPES.clusterSnapshot,
      ]);

      const liveFrom = new Map([[before.stream, before.seq + 3]]);
      const replayed: string[] = [];
      for await (const item of replayLiveEvents(world.bus, before, liveFrom, 1_000)) {
        if (item.kind === "event") replayed.push(item.live.event.type);
      }
      expect(replayed).toEqual([EVENT_TYPES.clusterSnapshot]);
    } finally {
      subscription.unsubscribe();
      await feed.stop();
    }
  });
});
