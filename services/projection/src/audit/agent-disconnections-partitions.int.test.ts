import { publishEvent } from "@kasmap/bus";
import { CONNECTED_WITHIN_MS } from "@kasmap/contracts";
import { type AdvisoryLockSession, openAdvisoryLockSession } from "@kasmap/db";
import { replicaHeartbeat } from "@kasmap/testing";
import { eventually } from "@kasmap/testing/harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { partitionOfAgent } from "../partitions/agent-partition.ts";
import { PARTITION_LEASE_CLASS } from "../partitions/leased-projection.ts";
import { projectionUnits } from "../partitions/projection-units.ts";
import { type ProjectionService, startProjectionService } from "../projection-service.ts";
import { projectionContextForFile } from "../testing/projection-context.ts";
import { recordAgentDisconnections } from "./agent-disconnections.ts";

const ctx = projectionContextForFile("projection-disconnections-partitions-int-test");
const PARTITIONS = 2;
/** The test's own lease session: holding a unit's lease keeps the projection from running it. */
let blocker: AdvisoryLockSession;
let service: ProjectionService | undefined;

/** The first `n` agent ids (from 1) of `partition`. */
function agentsOf(partition: number, n: number): number[] {
  const ids: number[] = [];
  for (let id = 1; ids.length < n; id++) if (partitionOfAgent(id, PARTITIONS) === partition) ids.push(id);
  return ids;
}
const [deadOf0, liveOf0] = agentsOf(0, 2) as [number, number];
/** `behind`'s newer heartbeat waits in the stream; `deadOf1`'s collector stopped. */
const [behind, deadOf1] = agentsOf(1, 2) as [number, number];
const AGENTS = [deadOf0, liveOf0, behind, deadOf1];
const stuckUnit = projectionUnits(PARTITIONS).find((unit) => unit.label === "projection-heartbeat[1/2]");

const FIRST = "2026-04-01T00:00:00.000Z";
const SECOND = "2026-04-01T00:00:30.000Z";

function start(): Promise<ProjectionService> {
  return startProjectionService({ ...ctx.serviceOptions, partitions: PARTITIONS, leasePollMs: 100 });
}

function silentAfter(sentAt: string): Date {
  return new Date(Date.parse(sentAt) + CONNECTED_WITHIN_MS + 1_000);
}

function heartbeat(agentId: number, sentAt: string) {
  return publishEvent(ctx.bus, replicaHeartbeat(ctx.topology, agentId, `collector-${agentId}`, sentAt));
}

/** Resolves once the read model holds `sentAt` as the agent's last heartbeat. */
function applied(agentId: number, sentAt: string): Promise<true> {
  return eventually(async () => {
    const row = await ctx.db
      .selectFrom("read_model.agent_connections")
      .select("last_heartbeat_at")
      .where("agent_id", "=", agentId)
      .executeTakeFirst();
    return row && new Date(row.last_heartbeat_at).toISOString() === sentAt ? true : undefined;
  }, `heartbeat ${sentAt} of agent ${agentId} applied`);
}

async function disconnectionsByAgent(): Promise<Record<number, string[]>> {
  const rows = await ctx.db
    .selectFrom("read_model.audit_events")
    .select(["agent_id", "details"])
    .where("event_type", "=", "cluster_agent_disconnected")
    .orderBy("event_id")
    .execute();
  const byAgent: Record<number, string[]> = {};
  for (const row of rows) {
    const details = row.details as { last_heartbeat_at: string };
    const agentId = Number(row.agent_id);
    byAgent[agentId] = [...(byAgent[agentId] ?? []), details.last_heartbeat_at];
  }
  return byAgent;
}

beforeAll(async () => {
  service = await start();
  await publishEvent(ctx.bus, ctx.events.group(1));
  await publishEvent(ctx.bus, ctx.events.project(10, 1));
  for (const agentId of AGENTS) {
    await publishEvent(ctx.bus, ctx.events.agent(agentId, 10));
    await publishEvent(ctx.bus, ctx.events.agentToken(agentId * 10, agentId));
  }
  for (const agentId of AGENTS) await heartbeat(agentId, FIRST);
  for (const agentId of AGENTS) await applied(agentId, FIRST);
  await service.stop();
  // Restarted without partition 1 of the heartbeat consumer: its lease is the test's.
  blocker = await openAdvisoryLockSession({
    url: ctx.database.url,
    classId: PARTITION_LEASE_CLASS,
    applicationName: "disconnections-partitions-test",
  });
  if (!stuckUnit || !(await blocker.tryLock(stuckUnit.leaseKey))) throw new Error("cannot hold the lease");
  service = await start();
});

afterAll(async () => {
  await service?.stop();
  await blocker?.close();
});

describe("cluster_agent_disconnected with KASMAP_PROJECTION_PARTITIONS=2, one heartbeat partition stuck", () => {
  it("defers only the agents with unread heartbeats, records the silent ones, and the rest once read", async () => {
    expect(service?.held()).not.toContain("projection-heartbeat[1/2]");
    await heartbeat(behind, SECOND);
    // Published after `behind`'s: partition 0 reads past it, partition 1 does not run.
    await heartbeat(liveOf0, SECOND);
    await applied(liveOf0, SECOND);

    const sweep = await recordAgentDisconnections(ctx.db, silentAfter(FIRST), ctx.bus);

    expect(await disconnectionsByAgent()).toEqual({ [deadOf0]: [FIRST], [deadOf1]: [FIRST] });
    expect(sweep).toEqual({ recorded: 2, deferred: 1 });

    await blocker.unlock(stuckUnit?.leaseKey ?? -1);
    await applied(behind, SECOND);
    await recordAgentDisconnections(ctx.db, silentAfter(SECOND), ctx.bus);
    await recordAgentDisconnections(ctx.db, silentAfter(SECOND), ctx.bus);

    expect(await disconnectionsByAgent()).toEqual({
      [deadOf0]: [FIRST],
      [liveOf0]: [SECOND],
      [behind]: [SECOND],
      [deadOf1]: [FIRST],
    });
  });
});
