import { publishEvent } from "@kasmap/bus";
import { type AdvisoryLockSession, openAdvisoryLockSession } from "@kasmap/db";
import { Registry } from "@kasmap/runtime/metrics";
import { buildClusterFacts } from "@kasmap/testing";
import { eventually } from "@kasmap/testing/harness";
import { sampleValue } from "@kasmap/testing/prometheus-text";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ProjectionService, startProjectionService } from "../projection-service.ts";
import { projectionContextForFile } from "../testing/projection-context.ts";
import { partitionOfAgent } from "./agent-partition.ts";
import { PARTITION_LEASE_CLASS } from "./leased-projection.ts";
import { projectionUnits } from "./projection-units.ts";

const ctx = projectionContextForFile("projection-partition-lag-metrics-int-test");
const PARTITIONS = 2;
const registry = new Registry();
/** The test's own lease session: holding a unit's lease keeps the projection from running it. */
let blocker: AdvisoryLockSession;
let service: ProjectionService;

/** The first agent ids (from 1) of partition 0 and of partition 1. */
const [agentOf0, agentOf1] = [0, 1].map((partition) => {
  let id = 1;
  while (partitionOfAgent(id, PARTITIONS) !== partition) id++;
  return id;
}) as [number, number];
const stuckUnit = projectionUnits(PARTITIONS).find((unit) => unit.label === "projection-cluster[1/2]");

beforeAll(async () => {
  blocker = await openAdvisoryLockSession({
    url: ctx.database.url,
    classId: PARTITION_LEASE_CLASS,
    applicationName: "partition-lag-metrics-test",
  });
  if (!stuckUnit || !(await blocker.tryLock(stuckUnit.leaseKey))) throw new Error("cannot hold the lease");
  service = await startProjectionService({
    ...ctx.serviceOptions,
    metrics: registry,
    partitions: PARTITIONS,
    leasePollMs: 100,
  });
});

afterAll(async () => {
  await service?.stop();
  await blocker?.close();
});

async function lag(consumer: string, partition: string): Promise<number | undefined> {
  return sampleValue(await registry.metrics(), "kasmap_projection_lag_messages", { consumer, partition });
}

function lagUntil(consumer: string, partition: string, expected: number): Promise<true> {
  return eventually(
    async () => ((await lag(consumer, partition)) === expected ? true : undefined),
    `lag of ${consumer}[${partition}] = ${expected}`,
  );
}

describe("kasmap_projection_lag_messages with KASMAP_PROJECTION_PARTITIONS=2", () => {
  it("shows the lag of each partition: a stuck partition on its own, until it runs again", async () => {
    expect(service.held()).not.toContain("projection-cluster[1/2]");
    for (const agentId of [agentOf0, agentOf1]) {
      await publishEvent(ctx.bus, ctx.events.agent(agentId, 11));
      await publishEvent(ctx.bus, ctx.events.agentToken(agentId * 10, agentId));
    }
    await lagUntil("projection-registry", "all", 0);
    await publishEvent(ctx.bus, ctx.events.snapshot(agentOf0, buildClusterFacts({ cluster_name: "a" })));
    await publishEvent(ctx.bus, ctx.events.snapshot(agentOf1, buildClusterFacts({ cluster_name: "b" })));

    // Partition 0 read past both snapshots (one is its own); partition 1 is not running.
    await lagUntil("projection-cluster", "0", 0);
    expect(await lag("projection-cluster", "1")).toBe(2);
    // The whole streams keep partition="all"; a partitioned stream has no "all" sample.
    expect(await lag("projection-authz", "all")).toBe(0);
    expect(await lag("projection-cluster", "all")).toBeUndefined();
    expect(await ctx.latestCluster(agentOf1)).toBeUndefined();

    // Released, the lease is taken on the next round and partition 1 catches up.
    await blocker.unlock(stuckUnit?.leaseKey ?? -1);
    await lagUntil("projection-cluster", "1", 0);
    expect(await ctx.latestCluster(agentOf1)).toMatchObject({ cluster_name: "b" });
  });
});
