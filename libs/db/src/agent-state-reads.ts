import { type ClusterFacts, StoredClusterFactsSchema } from "@kasmap/contracts";
import type { Kysely } from "kysely";
import type { ReadModelDatabase } from "./read-model.ts";

/**
 * The agent's latest snapshot facts (`read_model.cluster_snapshots.cluster`), or null: what the
 * gateway's cluster_info answers and what the projection's audit log compares a snapshot with.
 */
export async function loadClusterFacts(
  db: Kysely<ReadModelDatabase>,
  agentId: number,
): Promise<ClusterFacts | null> {
  const found = (await loadClusterFactsOfAgents(db, [agentId])).get(agentId) ?? null;
  if (found instanceof Error) throw found;
  return found?.facts ?? null;
}

/** A stored snapshot's facts and the stream sequence of the event that wrote them. */
export type StoredClusterFacts = { facts: ClusterFacts; seq: number };

/**
 * `loadClusterFacts` of many agents in one query; an agent without a snapshot is not in the map,
 * one whose stored facts no longer parse maps to the parse error (the others still load).
 */
export async function loadClusterFactsOfAgents(
  db: Kysely<ReadModelDatabase>,
  agentIds: readonly number[],
): Promise<Map<number, StoredClusterFacts | Error>> {
  const found = new Map<number, StoredClusterFacts | Error>();
  if (agentIds.length === 0) return found;
  const rows = await db
    .selectFrom("read_model.cluster_snapshots")
    .select(["agent_id", "cluster", "stream_seq"])
    .where("agent_id", "in", agentIds)
    .execute();
  // The projection wrote it from a validated event; parsing again guards the wire shape.
  for (const row of rows) {
    const parsed = StoredClusterFactsSchema.safeParse(row.cluster);
    found.set(
      row.agent_id,
      parsed.success ? { facts: parsed.data, seq: Number(row.stream_seq) } : parsed.error,
    );
  }
  return found;
}

/**
 * The stream sequence of each agent's stored snapshot (`cluster_snapshots.stream_seq`), without
 * its facts: a snapshot's facts never change under one sequence, so a cache holding the facts
 * of that sequence holds the stored ones. Agents without a snapshot are not in the map.
 */
export async function loadClusterSnapshotSeqs(
  db: Kysely<ReadModelDatabase>,
  agentIds: readonly number[],
): Promise<Map<number, number>> {
  if (agentIds.length === 0) return new Map();
  const rows = await db
    .selectFrom("read_model.cluster_snapshots")
    .select(["agent_id", "stream_seq"])
    .where("agent_id", "in", agentIds)
    .execute();
  return new Map(rows.map((row) => [Number(row.agent_id), Number(row.stream_seq)]));
}
