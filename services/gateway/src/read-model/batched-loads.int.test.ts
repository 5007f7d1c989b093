import { deriveClusterFacts } from "@kasmap/cluster-info";
import { largeDualStackObservation } from "@kasmap/cluster-info/testing";
import { loadClusterFacts, loadClusterFactsOfAgents } from "@kasmap/db";
import { describe, expect, it } from "vitest";
import { serializeClusterFacts } from "../http/agent-body-json.ts";
import { readModelForFile } from "../testing/read-model-for-file.ts";
import { findAgents } from "./agent-queries.ts";
import { createBatchedLoads } from "./batched-loads.ts";
import { loadConnectionsOfAgents } from "./collector-connections.ts";

const readModel = readModelForFile();

const CREATED = new Date("2026-12-01T10:00:00.000Z");

/** Projects 1 and 2; agents 11, 12 (project 1), 21 (project 2) and 31 (project 3, which has no row). */
async function seed() {
  const { db } = readModel;
  await db
    .insertInto("read_model.projects")
    .values(
      [1, 2].map((id) => ({
        id,
        name: `p${id}`,
        path: `p${id}`,
        description: null,
        namespace_id: 100,
        traversal_ids: [100],
        path_with_namespace: `g/p${id}`,
        name_with_namespace: `g / p${id}`,
        creator_id: null,
        created_at: CREATED,
      })),
    )
    .execute();
  await db
    .insertInto("read_model.agents")
    .values(
      [
        [11, 1],
        [12, 1],
        [21, 2],
        [31, 3],
      ].map(([id, project_id]) => ({
        id: id as number,
        name: `agent-${id}`,
        project_id: project_id as number,
        created_at: CREATED,
        created_by_user_id: null,
      })),
    )
    .execute();
  const facts = (nodes: number) => deriveClusterFacts(largeDualStackObservation(nodes), CREATED);
  await db
    .insertInto("read_model.cluster_snapshots")
    .values(
      [
        [11, 3],
        [21, 5],
      ].map(([agent_id, nodes]) => ({
        agent_id: agent_id as number,
        content_hash: `hash-${agent_id}`,
        cluster: JSON.stringify(facts(nodes as number)),
        observed_at: CREATED,
        stream_seq: agent_id as number,
      })),
    )
    .execute();
  const at = new Date("2026-12-01T10:00:30.000Z");
  await db
    .insertInto("read_model.agent_connections")
    .values({ agent_id: 12, collector_id: "a", last_heartbeat_at: at })
    .execute();
  await db
    .insertInto("read_model.collector_connections")
    .values(
      ["a", "b"].map((collector_id, i) => ({
        agent_id: 12,
        collector_id,
        pod_name: `agentk-${collector_id}`,
        pod_ip: `10.0.0.${i + 1}`,
        namespace: "gitlab-agent",
        node: null,
        version: null,
        commit: null,
        connected_at: CREATED,
        last_heartbeat_at: new Date(at.getTime() - i * 1_000),
        stopped_at: null,
      })),
    )
    .execute();
}

describe("createBatchedLoads", () => {
  it("answers, for agents asked for together, exactly what each query answers for one agent alone", async () => {
    await seed();
    const { db } = readModel;
    const loads = createBatchedLoads(db);
    // Found and missing rows together: 31's project has no row, 99 does not exist at all.
    const ids = [11, 12, 21, 31, 99];
    const [agents, facts, connections] = await Promise.all([
      Promise.all(ids.map((id) => loads.agent(id))),
      Promise.all(ids.map((id) => loads.clusterFacts(id))),
      Promise.all(ids.map((id) => loads.connections(id))),
    ]);
    expect(agents).toEqual(
      await Promise.all(ids.map(async (id) => (await findAgents(db, [id])).get(id) ?? null)),
    );
    expect(agents.map((found) => found?.project.id ?? null)).toEqual([1, 1, 2, null, null]);
    expect(facts).toEqual(
      await Promise.all(
        ids.map(async (id) => {
          const single = (await loadClusterFactsOfAgents(db, [id])).get(id) ?? null;
          if (single instanceof Error) throw single;
          return single === null ? null : serializeClusterFacts(single);
        }),
      ),
    );
    expect(facts.map((found) => found?.facts.node_count ?? null)).toEqual([3, null, 5, null, null]);
    expect(connections).toEqual(
      await Promise.all(ids.map(async (id) => (await loadConnectionsOfAgents(db, [id])).get(id))),
    );
    expect(connections[1]?.collectors.map((c) => c.collector_id)).toEqual(["a", "b"]);
    expect(connections[0]).toEqual({ lastHeartbeat: null, silenceConfirmedAt: null, collectors: [] });
  });

  it("refreshes facts by their snapshot's sequence: the held facts themselves while it is unchanged, the new ones after a snapshot, null once gone", async () => {
    const { db } = readModel;
    const facts = (nodes: number) =>
      JSON.stringify(deriveClusterFacts(largeDualStackObservation(nodes), CREATED));
    await db
      .insertInto("read_model.cluster_snapshots")
      .values(
        [51, 52].map((agent_id) => ({
          agent_id,
          content_hash: `hash-${agent_id}`,
          cluster: facts(agent_id - 48),
          observed_at: CREATED,
          stream_seq: agent_id,
        })),
      )
      .execute();
    const loads = createBatchedLoads(db);
    const held = await loads.clusterFacts(51);
    expect(held).toMatchObject({ seq: 51, facts: { node_count: 3 } });
    // Same sequence: the stored row is not read (a row rewritten under its sequence, which the
    // projection never does, would not even parse), and the held object is the answer.
    await db
      .updateTable("read_model.cluster_snapshots")
      .set({ cluster: JSON.stringify({ written_by: "nobody" }) })
      .where("agent_id", "=", 51)
      .execute();
    expect(await loads.clusterFacts(51, held)).toBe(held);
    await db
      .updateTable("read_model.cluster_snapshots")
      .set({ cluster: facts(7), stream_seq: 151 })
      .where("agent_id", "=", 51)
      .execute();
    const refreshed = await loads.clusterFacts(51, held);
    expect(refreshed).toMatchObject({ seq: 151, facts: { node_count: 7 } });
    await db.deleteFrom("read_model.cluster_snapshots").where("agent_id", "=", 51).execute();
    expect(await loads.clusterFacts(51, refreshed)).toBeNull();
    expect(await loads.clusterFacts(52, null)).toMatchObject({ seq: 52, facts: { node_count: 4 } });
  });

  it("fails only the agent whose stored facts no longer parse, not the others loaded with it", async () => {
    const { db } = readModel;
    await db
      .insertInto("read_model.cluster_snapshots")
      .values({
        agent_id: 41,
        content_hash: "hash-41",
        cluster: JSON.stringify({ written_by: "an older projection" }),
        observed_at: CREATED,
        stream_seq: 41,
      })
      .execute();
    const loads = createBatchedLoads(db);
    const [good, bad] = await Promise.allSettled([loads.clusterFacts(11), loads.clusterFacts(41)]);
    expect(good.status === "fulfilled" ? good.value?.facts.node_count : good.reason).toBe(3);
    expect(bad.status).toBe("rejected");
    await expect(loadClusterFacts(db, 41)).rejects.toThrow();
  });
});
