import {
  AUDIT_EVENT_TYPES,
  CONNECTED_WITHIN_MS,
  type EVENT_TYPES,
  type KasmapEventOf,
} from "@kasmap/contracts";
import { migrateReadModel } from "@kasmap/db";
import { replicaHeartbeat, seededRandom } from "@kasmap/testing";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditPreviousState, auditEventsFor, type StoredCollector } from "../audit/audit-events.ts";
import { createProjectionTestContext, type ProjectionTestContext } from "../testing/projection-context.ts";
import { loadHeartbeatAgentStates } from "./heartbeat-batch-state.ts";

/**
 * The state a heartbeat's audit events compare with reads an agent's collectors only where a
 * conflict can come of them. That is a claim about `clusterConflictEvents`: checked here against
 * the same heartbeats compared with every stored collector, over random collector rows.
 */
let ctx: ProjectionTestContext;

beforeAll(async () => {
  ctx = await createProjectionTestContext("heartbeat-batch-state");
  await migrateReadModel(ctx.db);
});

afterAll(async () => {
  await ctx?.dispose();
});

const T0 = Date.parse("2026-06-01T00:00:00.000Z");
const AGENTS = Array.from({ length: 40 }, (_, i) => 500 + i);
const COLLECTORS = ["pod-a", "pod-b", "pod-c", "pod-d"];
const UIDS = ["uid-1", "uid-2", null] as const;

/** Every collector row of the agent, as the audit log compares them (times ISO-8601). */
async function allCollectors(agentId: number): Promise<StoredCollector[]> {
  const { rows } = await sql<{
    collector_id: string;
    pod_name: string | null;
    cluster_uid: string | null;
    connected_at: Date;
    last_heartbeat_at: Date;
    stopped_at: Date | null;
  }>`select collector_id, pod_name, cluster_uid, connected_at, last_heartbeat_at, stopped_at
       from read_model.collector_connections where agent_id = ${agentId}`.execute(ctx.db);
  return rows.map((row) => ({
    ...row,
    connected_at: row.connected_at.toISOString(),
    last_heartbeat_at: row.last_heartbeat_at.toISOString(),
    stopped_at: row.stopped_at?.toISOString() ?? null,
  }));
}

describe("the state of a heartbeat's agent", () => {
  it("leaves out collectors only where no conflict event can come of them", async () => {
    const next = seededRandom(31);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)] as T;
    // Collectors of each agent: some live, some silent, some stopped, reporting one of two
    // clusters or none. Rows as heartbeats leave them; the agents are unknown to the read
    // model (the standing check is not what is compared).
    for (const agentId of AGENTS) {
      for (const collectorId of COLLECTORS.slice(0, 1 + Math.floor(next() * COLLECTORS.length))) {
        const last = new Date(T0 - next() * 2 * CONNECTED_WITHIN_MS);
        await sql`insert into read_model.collector_connections
                    (agent_id, collector_id, pod_name, connected_at, last_heartbeat_at, stopped_at, cluster_uid)
                  values (${agentId}, ${collectorId}, ${collectorId}, ${new Date(last.getTime() - 60_000)}, ${last},
                          ${next() < 0.15 ? last : null}, ${pick(UIDS)})`.execute(ctx.db);
      }
    }
    let conflicts = 0;
    let leftOut = 0;
    for (let i = 0; i < 400; i++) {
      const agentId = pick(AGENTS);
      const uid = pick(UIDS);
      const event = replicaHeartbeat(
        ctx.topology,
        agentId,
        pick([...COLLECTORS, "pod-e"]),
        new Date(T0 - CONNECTED_WITHIN_MS / 2 + next() * CONNECTED_WITHIN_MS).toISOString(),
        { ...(uid ? { clusterUid: uid } : {}), ...(next() < 0.1 ? { stopping: true } : {}) },
      ) as KasmapEventOf<typeof EVENT_TYPES.clusterHeartbeat>;
      const state = (await loadHeartbeatAgentStates(ctx.db, [event.data])).get(agentId);
      if (!state) throw new Error(`no state read for agent ${agentId}`);
      const every: AuditPreviousState = { ...state.previous, collectors: await allCollectors(agentId) };
      const expected = auditEventsFor(event, every);
      expect(auditEventsFor(event, state.previous)).toEqual(expected);
      conflicts += expected.filter((d) => d.event_type === AUDIT_EVENT_TYPES.clusterConflict).length;
      if (state.previous.collectors.length < every.collectors.length) leftOut++;
    }
    // Not vacuous: conflicts were found, and collectors were left out of most reads.
    expect(conflicts).toBeGreaterThan(10);
    expect(leftOut).toBeGreaterThan(200);
  });

  it("reads the collectors of a conflict at the edge of liveness, where microseconds and milliseconds differ", async () => {
    const agentId = 900;
    // PostgreSQL keeps microseconds; the audit log compares milliseconds.
    await sql`insert into read_model.collector_connections
                (agent_id, collector_id, pod_name, connected_at, last_heartbeat_at, cluster_uid)
              values (${agentId}, 'pod-a', 'pod-a', '2026-06-01T00:00:00.000000Z', '2026-06-01T00:00:00.000456Z', 'uid-1')`.execute(
      ctx.db,
    );
    const edge = new Date(T0 + CONNECTED_WITHIN_MS).toISOString();
    const conflictsAt = async (sentAt: string) => {
      const event = replicaHeartbeat(ctx.topology, agentId, "pod-b", sentAt, {
        clusterUid: "uid-2",
      }) as KasmapEventOf<typeof EVENT_TYPES.clusterHeartbeat>;
      const state = (await loadHeartbeatAgentStates(ctx.db, [event.data])).get(agentId);
      if (!state) throw new Error(`no state read for agent ${agentId}`);
      return auditEventsFor(event, state.previous).filter(
        (d) => d.event_type === AUDIT_EVENT_TYPES.clusterConflict,
      ).length;
    };
    // Within the window by milliseconds (the sub-millisecond part is dropped), not by microseconds.
    expect(await conflictsAt(edge.replace("Z", "999Z"))).toBe(1);
    expect(await conflictsAt(new Date(T0 + CONNECTED_WITHIN_MS + 1).toISOString())).toBe(0);
  });
});
