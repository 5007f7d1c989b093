import { type ClusterFacts, type ClusterInfoHistoryEntry, StoredClusterFactsSchema } from "@kasmap/contracts";
import type { PageRequest } from "../http/pagination.ts";
import type { ReadModel } from "./registry-queries.ts";
import { selectWindowPage } from "./window-page.ts";

/**
 * The facts current at `at`: the agent's newest snapshot observed at or before it (index
 * `cluster_snapshot_history_agent_time`), or null when it had none yet.
 *
 * ```sql
 * select cluster from read_model.cluster_snapshot_history
 * where agent_id = $1 and observed_at <= $2 order by observed_at desc, stream_seq desc limit 1
 * ```
 */
export async function loadClusterFactsAt(
  db: ReadModel,
  agentId: number,
  at: string,
): Promise<ClusterFacts | null> {
  const row = await db
    .selectFrom("read_model.cluster_snapshot_history")
    .select("cluster")
    .where("agent_id", "=", agentId)
    .where("observed_at", "<=", new Date(at))
    .orderBy("observed_at", "desc")
    .orderBy("stream_seq", "desc")
    .limit(1)
    .executeTakeFirst();
  // Written by the projection from a validated event; parsing again guards the wire shape.
  return row ? StoredClusterFactsSchema.parse(row.cluster) : null;
}

/** One page of the agent's snapshots, newest first, with the total. */
export async function listClusterHistory(
  db: ReadModel,
  agentId: number,
  page: PageRequest,
): Promise<{ entries: ClusterInfoHistoryEntry[]; total: number }> {
  const history = db
    .selectFrom("read_model.cluster_snapshot_history")
    .select(["observed_at", "content_hash", "cluster"])
    .where("agent_id", "=", agentId);
  const { rows, total } = await selectWindowPage(
    history.orderBy("observed_at", "desc").orderBy("stream_seq", "desc"),
    page,
  );
  const entries = rows.map((row) => ({
    observed_at: new Date(row.observed_at).toISOString(),
    content_hash: row.content_hash,
    cluster_info: StoredClusterFactsSchema.parse(row.cluster),
  }));
  return { entries, total: total ?? 0 };
}
