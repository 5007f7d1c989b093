import { type ClusterFacts, ClusterFactsSchema } from "@kasmap/contracts";
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
  const facts = (await loadClusterFactsOfAgents(db, [agentId])).get(agentId) ?? null;
  if (facts instanceof Error) throw facts;
  return facts;
}

/**
 * `loadClusterFacts` of many agents in one query; an agent without a snapshot is not in the map,
 * one whose stored facts no longer parse maps to the parse error (the others still load).
 */
export async function loadClusterFactsOfAgents(
  db: Kysely<ReadModelDatabase>,
  agentIds: readonly number[],
): Promise<Map<number, ClusterFacts | Error>> {
  const found = new Map<number, ClusterFacts | Error>();
  if (agentIds.length === 0) return found;
  const rows = await db
    .selectFrom("read_model.cluster_snapshots")
    .select(["agent_id", "cluster"])
    .where("agent_id", "in", agentIds)
    .execute();
  // The projection wrote it from a validated event; parsing again guards the wire shape.
  for (const row of rows) {
    const parsed = ClusterFactsSchema.safeParse(row.cluster);
    found.set(row.agent_id, parsed.success ? parsed.data : parsed.error);
  }
  return found;
}
