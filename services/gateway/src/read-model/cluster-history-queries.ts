import { type ClusterFacts, StoredClusterFactsSchema } from "@kasmap/contracts";
import { sql } from "kysely";
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

/**
 * One page of the agent's snapshots, newest first, as the JSON text of an array of
 * `ClusterInfoHistoryEntry`, with the total. Each snapshot's facts are passed through as
 * PostgreSQL renders the stored `jsonb` (written by the projection from a validated event),
 * neither parsed nor serialized again here: a 5,000-node cluster's facts are ~243 KB, and a page
 * of 100 of them parsed, checked and serialized held the event loop for a noticeable time.
 */
export async function listClusterHistoryJson(
  db: ReadModel,
  agentId: number,
  page: PageRequest,
): Promise<{ json: string; total: number }> {
  const history = db
    .selectFrom("read_model.cluster_snapshot_history")
    .select(["observed_at", "content_hash", sql<string>`cluster::text`.as("cluster")])
    .where("agent_id", "=", agentId);
  const { rows, total } = await selectWindowPage(
    history.orderBy("observed_at", "desc").orderBy("stream_seq", "desc"),
    page,
  );
  const entries = rows.map(
    (row) =>
      `{"observed_at":${JSON.stringify(new Date(row.observed_at).toISOString())},"content_hash":${JSON.stringify(row.content_hash)},"cluster_info":${row.cluster}}`,
  );
  return { json: `[${entries.join(",")}]`, total: total ?? 0 };
}
