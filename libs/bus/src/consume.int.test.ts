import { EVENT_TYPES, newKasmapEvent } from "@kasmap/contracts";
import { createTestTopology, eventually, testNatsUrl } from "@kasmap/testing/harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Bus, connectBus } from "./bus.ts";
import { type MessageMeta, startEventConsumer } from "./consume.ts";
import { DEAD_LETTER_HEADERS } from "./dead-letter.ts";
import { publishEvent } from "./publish.ts";
import { ensureStreams } from "./streams.ts";

const topology = createTestTopology();
let bus: Bus;

beforeAll(async () => {
  bus = await connectBus({ url: testNatsUrl(), name: "bus-int-test", topology });
  await ensureStreams(bus);
  await ensureStreams(bus); // idempotent
});

afterAll(async () => {
  for (const stream of topology.streams) await bus.jsm.streams.delete(stream.name).catch(() => {});
  await bus.close();
});

function heartbeat(agentId: number, id?: string) {
  return newKasmapEvent({
    type: EVENT_TYPES.clusterHeartbeat,
    source: "/kasmap/collector/test",
    subject: topology.subjects.clusterHeartbeat(agentId),
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
    subject: topology.subjects.clusterSnapshot(agentId),
    data: { agent_id: agentId, content_hash: "0".repeat(64), cluster: facts },
  });
}

describe("bus", () => {
  it("drops a re-published event with the same id (Nats-Msg-Id)", async () => {
    const event = heartbeat(7, "fixed-id-1");
    const first = await publishEvent(bus, event);
    const second = await publishEvent(bus, event);
    expect(first.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    expect(second.seq).toBe(first.seq);
  });

  it("delivers valid events to the handler and dead-letters malformed ones with the reason", async () => {
    const seen: MessageMeta[] = [];
    const consumer = startEventConsumer(bus, {
      stream: "authz",
      durable: "test-authz",
      handle: async (_event, meta) => void seen.push(meta),
    });
    await bus.js.publish(topology.subjects.authzChanged(3), new TextEncoder().encode("{not json"));
    await bus.js.publish(
      topology.subjects.authzChanged(3),
      new TextEncoder().encode(JSON.stringify({ specversion: "1.0", type: "io.kasmap.authz.changed.v1" })),
    );
    const valid = newKasmapEvent({
      type: EVENT_TYPES.authzChanged,
      source: "/kasmap/authz",
      subject: topology.subjects.authzChanged(3),
      data: {
        agent_id: 3,
        config_project_id: 1,
        cause: "agent_created",
        grants: { ci_access: { projects: [], groups: [] }, user_access: { projects: [], groups: [] } },
        added: [],
        removed: [],
        dropped: [],
        actor_user_id: null,
      },
    });
    await publishEvent(bus, valid);
    await eventually(() => (seen.length === 1 ? true : undefined), "valid event handled");
    const dlq = await bus.jsm.streams.info(topology.streamNames.deadLetter);
    expect(dlq.state.messages).toBe(2);
    const letter = await bus.jsm.streams.getMessage(topology.streamNames.deadLetter, { seq: 1 });
    expect(letter?.header.get(DEAD_LETTER_HEADERS.reason)).toMatch(/not JSON/);
    const second = await bus.jsm.streams.getMessage(topology.streamNames.deadLetter, { seq: 2 });
    expect(second?.header.get(DEAD_LETTER_HEADERS.reason)).toMatch(/schema/);
    await consumer.stop();
  });

  it("retries a failing handler in place until it succeeds, without reordering", async () => {
    const applied: number[] = [];
    let failures = 2;
    const consumer = startEventConsumer(bus, {
      stream: "heartbeat",
      durable: "test-heartbeat",
      handle: async (event) => {
        if (event.type !== EVENT_TYPES.clusterHeartbeat) return;
        if (event.data.agent_id === 100 && failures-- > 0) throw new Error("database down");
        applied.push(event.data.agent_id);
      },
    });
    await publishEvent(bus, heartbeat(100));
    await publishEvent(bus, heartbeat(101));
    await eventually(() => (applied.length >= 2 ? true : undefined), "both applied");
    expect(applied.filter((id) => id >= 100)).toEqual([100, 101]);
    await consumer.stop();
  });
  it("dead-letters an event whose body names another agent than its subject", async () => {
    const handled: number[] = [];
    const consumer = startEventConsumer(bus, {
      stream: "cluster",
      durable: "test-cluster-subjects",
      handle: async (event) => {
        if (event.type === EVENT_TYPES.clusterSnapshot) handled.push(event.data.agent_id);
      },
    });
    const dlqBefore = (await bus.jsm.streams.info(topology.streamNames.deadLetter)).state.messages;
    const forged = { ...snapshot(43), subject: topology.subjects.clusterSnapshot(42) };
    await bus.js.publish(
      topology.subjects.clusterSnapshot(42),
      new TextEncoder().encode(JSON.stringify(forged)),
    );
    await publishEvent(bus, snapshot(42));
    await eventually(() => (handled.length === 1 ? true : undefined), "the honest snapshot handled");
    expect(handled).toEqual([42]);
    const dlq = await bus.jsm.streams.info(topology.streamNames.deadLetter);
    expect(dlq.state.messages).toBe(dlqBefore + 1);
    const letter = await bus.jsm.streams.getMessage(topology.streamNames.deadLetter, {
      seq: dlq.state.last_seq,
    });
    expect(letter?.header.get(DEAD_LETTER_HEADERS.reason)).toMatch(/^subject: data names 43/);
    await consumer.stop();
  });
  it("stops cleanly when stopped while still starting", async () => {
    const consumer = startEventConsumer(bus, {
      stream: "registry",
      durable: "test-stop-at-start",
      handle: async () => {},
    });
    await consumer.stop();
    await expect(consumer.done).resolves.toBeUndefined();
  });
});
