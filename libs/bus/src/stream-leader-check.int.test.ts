import { EVENT_TYPES, newKasmapEvent } from "@kasmap/contracts";
import { testWorldForFile } from "@kasmap/testing/world";
import type { JsMsg } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { publishEvent } from "./publish.ts";
import { assertLeaderHolds } from "./stream-leader-check.ts";

const world = testWorldForFile({ name: "bus-stream-leader-check-int-test", database: false });

function heartbeat(agentId: number) {
  return newKasmapEvent({
    type: EVENT_TYPES.clusterHeartbeat,
    source: "/kasmap/collector/test",
    subject: world.topology.subjects.clusterHeartbeat(agentId),
    data: { agent_id: agentId, collector_id: "c1", content_hash: null, sent_at: new Date().toISOString() },
  });
}

/** The message at `seq` as an ordered consumer of the stream delivers it. */
async function delivered(seq: number): Promise<JsMsg> {
  const consumer = await world.bus.js.consumers.get(world.topology.streamNames.heartbeat, {
    opt_start_seq: seq,
  });
  const message = await consumer.next({ expires: 5_000 });
  if (!message) throw new Error(`nothing delivered at ${seq}`);
  return message;
}

describe("assertLeaderHolds", () => {
  const stream = () => world.topology.streamNames.heartbeat;

  it("passes a message the stream holds at its sequence", async () => {
    const { seq } = await publishEvent(world.bus, heartbeat(1));
    await expect(assertLeaderHolds(world.bus, stream(), await delivered(seq))).resolves.toBeUndefined();
  });

  it("refuses a message delivered at a sequence where the stream holds another one", async () => {
    // A diverged replica's copy: agent 2's heartbeat at the sequence the leader gave agent 3's.
    const first = await publishEvent(world.bus, heartbeat(2));
    const second = await publishEvent(world.bus, heartbeat(3));
    const message = await delivered(first.seq);
    await expect(
      assertLeaderHolds(world.bus, stream(), {
        seq: second.seq,
        subject: message.subject,
        data: message.data,
        headers: message.headers,
      }),
    ).rejects.toThrow(/holds another message/);
  });

  it("passes a sequence the stream no longer holds (a heartbeat replaced by its collector's next)", async () => {
    const first = await publishEvent(world.bus, heartbeat(4));
    const message = await delivered(first.seq);
    await publishEvent(world.bus, heartbeat(4));
    await expect(assertLeaderHolds(world.bus, stream(), message)).resolves.toBeUndefined();
  });
});
