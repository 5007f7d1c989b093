import type { ReadModelDatabase } from "@kasmap/db";
import { type Kysely, sql } from "kysely";
import type { AddressChanges, ClusterAddressRow } from "./cluster-addresses.ts";
import { unnestColumns } from "./unnest-columns.ts";

type Db = Kysely<ReadModelDatabase>;

/** An address row's columns, in the order the address writes send them, with their array types. */
const ADDRESS_COLUMNS = { agent_id: "bigint", field: "text", address: "inet" } as const;

/** A snapshot as its history row (`cluster` already serialised, once per event). */
export type SnapshotRowInput = {
  agent_id: number;
  content_hash: string;
  cluster: string;
  observed_at: string;
  stream_seq: number;
};

/** The history row's columns, in the order `writeSnapshots` sends them, with their array types. */
const SNAPSHOT_COLUMNS = {
  agent_id: "bigint",
  content_hash: "text",
  cluster: "jsonb",
  observed_at: "timestamptz",
  stream_seq: "bigint",
} as const;

/**
 * Appends every snapshot of a batch to the history and makes each agent's last one its latest,
 * in ONE statement that sends each snapshot's facts once (`applyClusterSnapshot`'s two writes,
 * set-based). The latest is replaced only by a later stream message, as there:
 *
 * ```sql
 * with input as (select * from unnest($1::bigint[], $2::text[], $3::jsonb[], $4::timestamptz[], $5::bigint[])
 *                  as u(agent_id, content_hash, cluster, observed_at, stream_seq)),
 *      history as (insert into read_model.cluster_snapshot_history select … from input
 *                  on conflict (agent_id, stream_seq) do nothing)
 * insert into read_model.cluster_snapshots select distinct on (agent_id) … from input
 *   order by agent_id, stream_seq desc
 * on conflict (agent_id) do update set … where cluster_snapshots.stream_seq < excluded.stream_seq
 * ```
 */
export async function writeSnapshots(db: Db, rows: readonly SnapshotRowInput[]): Promise<void> {
  if (rows.length === 0) return;
  await sql`
    with input as (
      select * from ${unnestColumns(rows, "u", SNAPSHOT_COLUMNS)}
    ), history as (
      insert into read_model.cluster_snapshot_history (agent_id, content_hash, cluster, observed_at, stream_seq)
      select agent_id, content_hash, cluster, observed_at, stream_seq from input
      on conflict (agent_id, stream_seq) do nothing
    )
    insert into read_model.cluster_snapshots (agent_id, content_hash, cluster, observed_at, stream_seq)
    select distinct on (agent_id) agent_id, content_hash, cluster, observed_at, stream_seq
      from input order by agent_id, stream_seq desc
    on conflict (agent_id) do update set
      content_hash = excluded.content_hash,
      cluster = excluded.cluster,
      observed_at = excluded.observed_at,
      stream_seq = excluded.stream_seq
    where read_model.cluster_snapshots.stream_seq < excluded.stream_seq
  `.execute(db);
}

/**
 * Makes the reverse-lookup rows of each agent in `agentIds` exactly `rows` (theirs), in ONE
 * statement, as `replaceClusterAddresses` does per agent, but writing only what changed: rows no
 * longer there are deleted, new ones inserted, unchanged ones (most of a cluster's, from one
 * snapshot to the next) left in place, so their GiST index entries are not rewritten. The delete
 * and the insert see the same table snapshot; they never meet on a row (a deleted row is one
 * not in `rows`; an inserted one that exists is skipped).
 *
 * ```sql
 * with wanted as (select * from unnest($2::bigint[], $3::text[], $4::inet[]) as w(agent_id, field, address)),
 *      gone as (delete from read_model.cluster_addresses c where c.agent_id = any($1::bigint[])
 *               and not exists (select 1 from wanted w where (w.agent_id, w.field, w.address) = (c.agent_id, c.field, c.address)))
 * insert into read_model.cluster_addresses (agent_id, field, address) select * from wanted
 * on conflict (agent_id, field, address) do nothing
 * ```
 */
export async function replaceAddressesOf(
  db: Db,
  agentIds: readonly number[],
  rows: readonly ClusterAddressRow[],
): Promise<void> {
  if (agentIds.length === 0) return;
  await sql`
    with wanted as (
      select * from ${unnestColumns(rows, "w", ADDRESS_COLUMNS)}
    ), gone as (
      delete from read_model.cluster_addresses c
      where c.agent_id = any(${sql.val(agentIds)}::bigint[])
        and not exists (
          select 1 from wanted w
          where w.agent_id = c.agent_id and w.field = c.field and w.address = c.address
        )
    )
    insert into read_model.cluster_addresses (agent_id, field, address)
    select agent_id, field, address from wanted
    on conflict (agent_id, field, address) do nothing
  `.execute(db);
}

/**
 * Deletes `changes.removed` and inserts `changes.added` (of any number of agents) in ONE
 * statement: the rows a new snapshot changed, computed in memory from the facts the agents' rows
 * were written from (`addressChanges`), so that a 5,000-node cluster whose node changed sends
 * two rows, not 15,000. The two sets never share a row.
 *
 * ```sql
 * with gone as (delete from read_model.cluster_addresses c
 *               using unnest($1::bigint[], $2::text[], $3::inet[]) as g(agent_id, field, address)
 *               where (c.agent_id, c.field, c.address) = (g.agent_id, g.field, g.address))
 * insert into read_model.cluster_addresses (agent_id, field, address)
 *   select * from unnest($4::bigint[], $5::text[], $6::inet[]) as a(agent_id, field, address)
 * on conflict (agent_id, field, address) do nothing
 * ```
 */
export async function applyAddressChanges(db: Db, changes: AddressChanges): Promise<void> {
  if (changes.removed.length === 0 && changes.added.length === 0) return;
  await sql`
    with gone as (
      delete from read_model.cluster_addresses c
      using ${unnestColumns(changes.removed, "g", ADDRESS_COLUMNS)}
      where c.agent_id = g.agent_id and c.field = g.field and c.address = g.address
    )
    insert into read_model.cluster_addresses (agent_id, field, address)
    select agent_id, field, address from ${unnestColumns(changes.added, "a", ADDRESS_COLUMNS)}
    on conflict (agent_id, field, address) do nothing
  `.execute(db);
}
