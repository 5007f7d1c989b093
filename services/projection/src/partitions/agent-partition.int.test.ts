import { createTestTopology } from "@kasmap/testing/harness";
import { type PrivateNatsServer, startPrivateNatsServer } from "@kasmap/testing/private-servers";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { partitionOfAgent, partitionOfAgentSubject } from "./agent-partition.ts";

const PARTITIONS = 5;
const AGENTS = 500;
const topology = createTestTopology();
let server: PrivateNatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  // nats-server's own subject mapping (2.9+): the partition of a snapshot's agent token as the
  // first token of the mapped subject.
  server = await startPrivateNatsServer(
    `mappings = { "${topology.root}.cluster.*.snapshot": "partitioned.{{partition(${PARTITIONS},1)}}.{{wildcard(1)}}" }`,
  );
  nc = await connect({ servers: server.url, waitOnFirstConnect: true, timeout: 10_000 });
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

describe("the agent partition", () => {
  it("is the one nats-server's partition() subject mapping computes", async () => {
    const byServer = new Map<number, number>();
    const subscription = nc.subscribe("partitioned.>", { max: AGENTS });
    const received = (async () => {
      for await (const message of subscription) {
        const [, partition, agent] = message.subject.split(".");
        byServer.set(Number(agent), Number(partition));
      }
    })();
    await nc.flush();
    for (let agent = 1; agent <= AGENTS; agent++) nc.publish(topology.subjects.clusterSnapshot(agent));
    await received;
    expect(byServer.size).toBe(AGENTS);
    for (const [agent, partition] of byServer) {
      expect(partitionOfAgent(agent, PARTITIONS), `agent ${agent}`).toBe(partition);
      expect(partitionOfAgentSubject(topology.subjects.clusterSnapshot(agent), PARTITIONS)).toBe(partition);
    }
  });
});
