import { EVENT_TYPES, newKasmapEvent } from "@kasmap/contracts";
import { eventually } from "@kasmap/testing/harness";
import { testWorldForFile } from "@kasmap/testing/world";
import { beforeAll, describe, expect, it } from "vitest";
import { startCheckpointedConsumer } from "./checkpointed-consume.ts";
import { DEAD_LETTER_HEADERS } from "./dead-letter.ts";
import { publishEvent } from "./publish.ts";
import { ensureStreams } from "./streams.ts";

const world = testWorldForFile({ name: "bus-int-test", database: false });

beforeAll(async () => {
  await ensureStreams(world.bus); // idempotent
});

function heartbeat(agentId: number, id?: string) {
  return newKasmapEvent({
    type: EVENT_TYPES.clusterHeartbeat,
    source: "/kasmap/collector/test",
    subject: world.topology.subjects.clusterHeartbeat(agentId),
    data: { agent_id: agentId, collector_id: "c1", content_hash: null, sent_at: new Date().toISOString() },
    ...(id ? { id } : {}),
  });
}

function snapshot(agentId: number) {
  const facts = {
    api_endpoint: null,
    api_endpoint_ip: null,
    cluster_name: null,
    cluster_context: null,
    node_ips: { external: [], internal: [] },
    pod_cidr: null,
    service_cidr: null,
    pod_cidrs: [],
    service_cidrs: [],
    agent_pod_ip: null,
    agent_namespace: null,
    kubernetes_version: null,
    platform: "unknown" as const,
    region: null,
    zones: [],
    node_count: 0,
    observed_at: new Date().toISOString(),
    sources: {},
  };
  return newKasmapEvent({
    type: EVENT_TYPES.clusterSnapshot,
    source: "/kasmap/collector/test",
    subject: world.topology.subjects.clusterSnapshot(agentId),
    data: { agent_id: agentId, content_hash: "0".repeat(64), cluster: facts },
  });
}

describe("bus", () => {
  it("drops a re-published event with the same id (Nats-Msg-Id)", async () => {
    const event = heartbeat(7, "fixed-id-1");
    const first = await publishEvent(world.bus, event);
    const second = await publishEvent(world.bus, event);
    expect(first.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    expect(second.seq).toBe(first.seq);
  });

  it("dead-letters an event whose body names another agent than its subject", async () => {
    const handled: number[] = [];
    let checkpoint = 0;
    const consumer = startCheckpointedConsumer(world.bus, {
      stream: "cluster",
      name: "test-cluster-subjects",
      readCheckpoint: async () => checkpoint,
      applyBatch: async (batch, lastSeq) => {
        for (const { event } of batch) {
          if (event.type === EVENT_TYPES.clusterSnapshot) handled.push(event.data.agent_id);
        }
        checkpoint = lastSeq;
      },
    });
    const forged = { ...snapshot(43), subject: world.topology.subjects.clusterSnapshot(42) };
    await world.bus.js.publish(
      world.topology.subjects.clusterSnapshot(42),
      new TextEncoder().encode(JSON.stringify(forged)),
    );
    await publishEvent(world.bus, snapshot(42));
    await eventually(() => (handled.length === 1 ? true : undefined), "the honest snapshot handled");
    await consumer.stop();
    expect(handled).toEqual([42]);
    const dlq = await world.bus.jsm.streams.info(world.topology.streamNames.deadLetter);
    expect(dlq.state.messages).toBe(1);
    const letter = await world.bus.jsm.streams.getMessage(world.topology.streamNames.deadLetter, {
      seq: dlq.state.last_seq,
    });
    expect(letter?.header.get(DEAD_LETTER_HEADERS.reason)).toMatch(/^subject: data names 43/);
  });
});
