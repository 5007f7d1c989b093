import { HEARTBEAT_STREAM_MAX_BYTES } from "@kasmap/contracts";
import { createTestTopology, testNatsUrl } from "@kasmap/testing/harness";
import { DiscardPolicy } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Bus, connectBus } from "./bus.ts";
import { ensureStreams, streamConfig } from "./streams.ts";

/**
 * Issue 7.6: every stream bounds its messages (`max_msg_size`), and the audit streams never
 * silently discard history to make room (`discard: new`, no count or byte limit); only the
 * heartbeat stream keeps just the latest message per collector, within a byte limit and the
 * audit log's max age.
 */
const topology = createTestTopology();
let bus: Bus;

beforeAll(async () => {
  bus = await connectBus({ url: testNatsUrl(), name: "bus-stream-limits-int-test", topology });
  // A deployment from before: streams without a message size limit, discarding old messages.
  for (const declaration of topology.streams) {
    const { max_msg_size: _limit, ...older } = streamConfig(declaration);
    await bus.jsm.streams.add({ ...older, discard: DiscardPolicy.Old });
  }
  await ensureStreams(bus);
});

afterAll(async () => {
  for (const stream of topology.streams) await bus.jsm.streams.delete(stream.name).catch(() => {});
  await bus.close();
});

describe("stream limits", () => {
  it.each(topology.streams.map((s) => ({ role: s.role, name: s.name })))(
    "$role: bounded messages; history kept unless it is the heartbeat stream",
    async ({ role, name }) => {
      const { config } = await bus.jsm.streams.info(name);
      expect(config.max_msg_size).toBeGreaterThan(0);
      expect(config.max_msg_size).toBeLessThanOrEqual(1024 * 1024);
      if (role === "heartbeat") {
        // One per collector, bounded in bytes and age (issue 11: collectors can invent ids).
        expect(config.max_msgs_per_subject).toBe(1);
        expect(config.discard).toBe(DiscardPolicy.Old);
        expect(config.max_bytes).toBe(HEARTBEAT_STREAM_MAX_BYTES);
        expect(config.max_age).toBeGreaterThan(0);
        expect(config.max_age).toBe(topology.streams.find((s) => s.role === "cluster")?.maxAgeNs);
      } else {
        expect(config.discard).toBe(DiscardPolicy.New);
        expect([config.max_msgs, config.max_bytes, config.max_msgs_per_subject]).toEqual([-1, -1, -1]);
      }
    },
  );

  it("refuses a heartbeat of 64 KiB at the server", async () => {
    const subject = topology.subjects.clusterHeartbeat(1);
    await expect(bus.js.publish(subject, new Uint8Array(64 * 1024))).rejects.toThrow(/size/i);
  });
});
