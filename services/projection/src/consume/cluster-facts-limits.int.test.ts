import { DEAD_LETTER_HEADERS, publishEvent } from "@kasmap/bus";
import { CLUSTER_FACTS_LIMITS, type ClusterFacts } from "@kasmap/contracts";
import { buildClusterFacts } from "@kasmap/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { projectionContextForFile } from "../testing/projection-context.ts";

/**
 * A hostile collector (one cluster's credentials) sent ~70 node IPs of 1 KB each, new every
 * snapshot: each one wrote an audit row with the whole lists before and after. Facts whose lists
 * hold anything but addresses and ranges, or more entries than Kubernetes' limits allow, are
 * dead-lettered with the field named; the agent's previous facts stay.
 */
const ctx = projectionContextForFile("projection-cluster-facts-limits-int-test", { running: true });
const AGENT = 6;
const GOOD = buildClusterFacts({ cluster_name: "before-the-hostile-snapshots" });

beforeAll(async () => {
  const e = ctx.events;
  for (const event of [e.group(1), e.project(11, 1), e.agent(AGENT, 11), e.agentToken(40, AGENT)]) {
    await publishEvent(ctx.bus, event);
  }
  await publishEvent(ctx.bus, e.snapshot(AGENT, GOOD));
  await ctx.caughtUp();
});

/** Publishes facts the contract refuses, as a hostile collector would: no client-side check. */
async function publishUnchecked(facts: ClusterFacts): Promise<number> {
  const event = ctx.events.snapshot(AGENT, facts);
  const body = new TextEncoder().encode(JSON.stringify(event));
  return (await ctx.bus.js.publish(ctx.topology.subjects.clusterSnapshot(AGENT), body)).seq;
}

const junk = (i: number) => `${i}`.padStart(1024, "x");

describe("cluster facts over the contract's limits", () => {
  it.each([
    {
      name: "1 KB strings as node IPs",
      facts: {
        node_ips: { internal: ["10.0.0.1"], external: Array.from({ length: 70 }, (_, i) => junk(i)) },
      },
      field: /node_ips\.external\.0: must be an IPv4 or IPv6 address/,
    },
    {
      name: "more node IPs than 5,000 dual-stack nodes report",
      facts: {
        node_ips: {
          internal: Array.from(
            { length: CLUSTER_FACTS_LIMITS.nodeIpsPerType + 1 },
            (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`,
          ),
          external: [],
        },
      },
      field: /node_ips\.internal: must have at most 10000 entries/,
    },
    {
      name: "a host name as the API endpoint IP",
      facts: { api_endpoint_ip: "api.example.com" },
      field: /api_endpoint_ip: must be an IPv4 or IPv6 address/,
    },
    {
      name: "an address without prefix as a pod range",
      facts: { pod_cidrs: ["10.244.0.0"] },
      field: /pod_cidrs\.0: must be an IPv4 or IPv6 range in CIDR notation/,
    },
    {
      name: "a cluster name of 500 KB",
      facts: { cluster_name: "n".repeat(500_000) },
      field: /cluster_name: Too big: expected string to have <=253 characters/,
    },
    {
      name: "a source detail of 100 KB",
      facts: {
        sources: {
          region: { kind: "missing" as const, reason: "invalid" as const, detail: "d".repeat(100_000) },
        },
      },
      field: /sources\.region\.detail: Too big/,
    },
    {
      name: "a 10 KB source key",
      facts: { sources: { ["k".repeat(10_000)]: { kind: "observed" as const, source: "nodes" } } },
      field: new RegExp(`sources\\.${"k".repeat(64)}…: Invalid key in record`),
    },
  ])("dead-letters $name, naming the field, and keeps the previous facts", async ({ facts, field }) => {
    const before = (await ctx.deadLetters()).length;
    const seq = await publishUnchecked(buildClusterFacts({ cluster_name: "hostile", ...facts }));
    await ctx.caughtUp();

    const letters = await ctx.deadLetters();
    expect(letters).toHaveLength(before + 1);
    const letter = letters.at(-1);
    expect(letter?.header.get(DEAD_LETTER_HEADERS.seq)).toBe(String(seq));
    expect(letter?.header.get(DEAD_LETTER_HEADERS.reason)).toMatch(/^schema:/);
    expect(letter?.header.get(DEAD_LETTER_HEADERS.reason)).toMatch(field);
    expect(await ctx.latestCluster(AGENT)).toMatchObject({ cluster_name: "before-the-hostile-snapshots" });
  });
});
