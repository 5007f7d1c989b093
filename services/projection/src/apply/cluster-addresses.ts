import { parseCidr, parseIp } from "@kasmap/cluster-info";
import { type ClusterFacts, StoredClusterFactsSchema } from "@kasmap/contracts";
import { loadClusterFactsOfAgents, type ReadModelDatabase } from "@kasmap/db";
import { type Insertable, type Kysely, sql } from "kysely";

/** The facts an address row can come from (`read_model.cluster_addresses.field`). */
export const ADDRESS_FIELDS = {
  apiEndpointIp: "api_endpoint_ip",
  nodeInternal: "node_ips.internal",
  nodeExternal: "node_ips.external",
  agentPodIp: "agent_pod_ip",
  podCidrs: "pod_cidrs",
  serviceCidrs: "service_cidrs",
} as const;
export type AddressField = (typeof ADDRESS_FIELDS)[keyof typeof ADDRESS_FIELDS];

export type ClusterAddressRow = Insertable<ReadModelDatabase["read_model.cluster_addresses"]>;

/** Where each field's rows come from in the facts, and how a value becomes its row's address. */
const ADDRESS_SOURCES: ReadonlyArray<{
  field: AddressField;
  values: (facts: ClusterFacts) => readonly (string | null)[];
  address: (text: string) => string | null;
}> = [
  { field: ADDRESS_FIELDS.apiEndpointIp, values: (f) => [f.api_endpoint_ip], address: hostRange },
  { field: ADDRESS_FIELDS.nodeInternal, values: (f) => f.node_ips.internal, address: hostRange },
  { field: ADDRESS_FIELDS.nodeExternal, values: (f) => f.node_ips.external, address: hostRange },
  { field: ADDRESS_FIELDS.agentPodIp, values: (f) => [f.agent_pod_ip], address: hostRange },
  { field: ADDRESS_FIELDS.podCidrs, values: (f) => f.pod_cidrs, address: networkOf },
  { field: ADDRESS_FIELDS.serviceCidrs, values: (f) => f.service_cidrs, address: networkOf },
];

/**
 * The reverse-lookup rows of one snapshot: single addresses as `/32` or `/128`, ranges as their
 * network, de-duplicated per field (the table's key). A value that does not parse is left out
 * rather than refused: the derivation already canonicalised every value, and one bad string
 * must not dead-letter the snapshot itself (it still lands in `cluster_snapshots`).
 */
export function addressRowsFor(agentId: number, facts: ClusterFacts): ClusterAddressRow[] {
  const rows: ClusterAddressRow[] = [];
  for (const source of ADDRESS_SOURCES) {
    for (const address of addressesOf(source.values(facts), source.address)) {
      rows.push({ agent_id: agentId, field: source.field, address });
    }
  }
  return rows;
}

/** What turns an agent's rows written from one snapshot into those of the next. */
export type AddressChanges = { removed: ClusterAddressRow[]; added: ClusterAddressRow[] };

/**
 * The rows to delete and to insert so that the agent's rows, `addressRowsFor(agentId, before)`,
 * become `addressRowsFor(agentId, after)`, parsing only the fields whose values changed (one
 * node of 5,000 changes one field: its values are parsed, the others compared as text). Exact
 * whatever the spelling of the values: a row is removed only if no value of `after` still gives
 * it, added for each value `before` did not have (inserting an existing row does nothing).
 * Relies on the agent's rows being those of `before`, which every write of them keeps (this
 * projection's transactions, `indexUnindexedSnapshots`): a change to which rows a snapshot gives
 * (a new field, say) must index the stored snapshots again, as migration 011 did.
 */
export function addressChanges(agentId: number, before: ClusterFacts, after: ClusterFacts): AddressChanges {
  const changes: AddressChanges = { removed: [], added: [] };
  for (const source of ADDRESS_SOURCES) {
    const was = source.values(before);
    const now = source.values(after);
    if (sameValues(was, now)) continue;
    const nowAddresses = addressesOf(now, source.address);
    const wasValues = new Set(was);
    const nowValues = new Set(now);
    const row = (address: string) => ({ agent_id: agentId, field: source.field, address });
    const gone = addressesOf(
      was.filter((value) => !nowValues.has(value)),
      source.address,
    );
    for (const address of gone) if (!nowAddresses.has(address)) changes.removed.push(row(address));
    const fresh = addressesOf(
      now.filter((value) => !wasValues.has(value)),
      source.address,
    );
    for (const address of fresh) changes.added.push(row(address));
  }
  return changes;
}

function sameValues(a: readonly (string | null)[], b: readonly (string | null)[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The distinct addresses of `values`, in order of first appearance; nulls and non-addresses left out. */
function addressesOf(
  values: readonly (string | null)[],
  address: (text: string) => string | null,
): Set<string> {
  const addresses = new Set<string>();
  for (const value of values) {
    const parsed = value === null ? null : address(value);
    if (parsed !== null) addresses.add(parsed);
  }
  return addresses;
}

/**
 * `hostRange`'s answers for the values seen last: a large cluster's snapshots repeat nearly all
 * their addresses (one changed node of 5,000 still has `addressChanges` map its field's 10,000
 * values), and parsing one (IPv6 through a BigInt) costs microseconds — ~45 ms a snapshot at
 * 5,000 dual-stack nodes. Bounded: emptied when full; values longer than any address not kept.
 */
const hostRanges = new Map<string, string | null>();
export const HOST_RANGE_MEMO_ENTRIES = 50_000;
const LONGEST_MEMO_VALUE = 64;

/** "10.0.0.1" → "10.0.0.1/32", "FD00::1" → "fd00::1/128"; null when not an address. */
function hostRange(text: string): string | null {
  const known = hostRanges.get(text);
  if (known !== undefined) return known;
  const ip = parseIp(text);
  const range = ip === null ? null : `${ip.text}/${ip.family === 4 ? 32 : 128}`;
  if (text.length <= LONGEST_MEMO_VALUE) {
    if (hostRanges.size >= HOST_RANGE_MEMO_ENTRIES) hostRanges.clear();
    hostRanges.set(text, range);
  }
  return range;
}

/** "10.244.1.7/16" → "10.244.0.0/16"; null when not a range. */
function networkOf(text: string): string | null {
  return parseCidr(text)?.text ?? null;
}

/**
 * Replaces the agent's rows inside the caller's transaction (the one applying the snapshot), so
 * a reader sees the old set or the new one, never a mix. One `unnest` insert whatever the
 * cluster's size (a multi-row `values` list would pass PostgreSQL's 65,535 parameters at ~22k
 * addresses):
 *
 * ```sql
 * delete from read_model.cluster_addresses where agent_id = $1;
 * insert into read_model.cluster_addresses (agent_id, field, address)
 *   select $1, f, a::inet from unnest($2::text[], $3::text[]) as t(f, a);
 * ```
 */
export async function replaceClusterAddresses(
  db: Kysely<ReadModelDatabase>,
  agentId: number,
  facts: ClusterFacts,
): Promise<void> {
  await deleteClusterAddresses(db, agentId);
  const rows = addressRowsFor(agentId, facts);
  if (rows.length === 0) return;
  const fields = rows.map((r) => r.field);
  const addresses = rows.map((r) => r.address);
  await sql`
    insert into read_model.cluster_addresses (agent_id, field, address)
    select ${agentId}, f, a::inet from unnest(${fields}::text[], ${addresses}::text[]) as t(f, a)
  `.execute(db);
}

/**
 * Indexes the agent's latest snapshot again (an agent that came back after its deletion took its
 * addresses away: the snapshot stayed, and the next one would only write what changed since).
 * Reads it with `loadClusterFactsOfAgents`:
 *
 * ```sql
 * select agent_id, cluster, stream_seq from read_model.cluster_snapshots where agent_id in ($1)
 * ```
 */
export async function reindexLatestSnapshot(db: Kysely<ReadModelDatabase>, agentId: number): Promise<void> {
  const stored = (await loadClusterFactsOfAgents(db, [agentId])).get(agentId);
  // Written by the projection from a validated event; a row that no longer parses (an Error
  // here) is skipped, as `indexUnindexedSnapshots` does, rather than failing the revival.
  if (stored !== undefined && !(stored instanceof Error)) {
    await replaceClusterAddresses(db, agentId, stored.facts);
  }
}

export async function deleteClusterAddresses(db: Kysely<ReadModelDatabase>, agentId: number): Promise<void> {
  await db.deleteFrom("read_model.cluster_addresses").where("agent_id", "=", agentId).execute();
}

/**
 * Indexes the latest snapshot of every live agent that has no address rows yet: after
 * migration 011 on an existing read model (a collector publishes only on change, so the next
 * snapshot may be far off), or after rows were lost. Run before the consumers start, so no
 * snapshot is applied meanwhile. Agents whose cluster reports no address are re-checked on each
 * start, which costs one parse each. Returns how many agents it indexed.
 *
 * ```sql
 * select s.agent_id, s.cluster from read_model.cluster_snapshots s
 * join read_model.agents a on a.id = s.agent_id
 * where s.agent_id > $after and not exists
 *   (select 1 from read_model.cluster_addresses c where c.agent_id = s.agent_id)
 * order by s.agent_id limit 100
 * ```
 */
export async function indexUnindexedSnapshots(db: Kysely<ReadModelDatabase>): Promise<number> {
  let indexed = 0;
  let after = 0;
  for (;;) {
    const batch = await db
      .selectFrom("read_model.cluster_snapshots as s")
      .innerJoin("read_model.agents as a", "a.id", "s.agent_id")
      .select(["s.agent_id", "s.cluster"])
      .where("s.agent_id", ">", after)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom("read_model.cluster_addresses as c")
              .select("c.agent_id")
              .whereRef("c.agent_id", "=", "s.agent_id"),
          ),
        ),
      )
      .orderBy("s.agent_id")
      .limit(100)
      .execute();
    for (const row of batch) {
      // Written by the projection from a validated event; a row that no longer parses is skipped.
      const facts = StoredClusterFactsSchema.safeParse(row.cluster);
      if (!facts.success) continue;
      await db.transaction().execute((trx) => replaceClusterAddresses(trx, row.agent_id, facts.data));
      indexed++;
    }
    const last = batch.at(-1);
    if (!last || batch.length < 100) return indexed;
    after = last.agent_id;
  }
}
