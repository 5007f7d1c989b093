import { type Bus, connectBus, ensureStreams, publishEvent } from "@kasmap/bus";
import { EVENT_TYPES, newKasmapEvent } from "@kasmap/contracts";
import { createTestTopology, eventually, testNatsUrl } from "@kasmap/testing/harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterFacts, testEvents } from "../../../projection/src/test-events.ts";
import { followLiveEvents, type LiveEvent } from "./live-events.ts";

/**
 * Issue 7.1: the live feed is a consumer of the streams too; a registry event a collector
 * forged onto its snapshot subject must not reach a live subscriber as a token or user change.
 */
const topology = createTestTopology();
let bus: Bus;

beforeAll(async () => {
  bus = await connectBus({ url: testNatsUrl(), name: "live-events-int-test", topology });
  await ensureStreams(bus);
});

afterAll(async () => {
  for (const stream of topology.streams) await bus.jsm.streams.delete(stream.name).catch(() => {});
  await bus.close();
});

describe("live events", () => {
  it("skip an event whose type does not belong on the subject it was published on", async () => {
    const received: LiveEvent[] = [];
    const follower = await followLiveEvents(bus, { resumeAfter: null }, (live) => received.push(live));
    try {
      const subject = topology.subjects.clusterSnapshot(7);
      const forged = { ...testEvents(topology).personalAccessToken(7, 1, null), subject };
      await bus.js.publish(subject, new TextEncoder().encode(JSON.stringify(forged)));
      await publishEvent(
        bus,
        newKasmapEvent({
          type: EVENT_TYPES.clusterSnapshot,
          source: "/test",
          subject,
          data: {
            agent_id: 7,
            content_hash: "0".repeat(64),
            cluster: clusterFacts({ cluster_name: "control" }),
          },
        }),
      );
      await eventually(
        () => (received.some((r) => r.event.type === EVENT_TYPES.clusterSnapshot) ? true : undefined),
        "the control snapshot delivered",
      );
      expect(received.map((r) => r.event.type)).toEqual([EVENT_TYPES.clusterSnapshot]);
    } finally {
      await follower.stop();
    }
  });
});
