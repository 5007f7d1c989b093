import { loadClusterFactsOfAgents, loadClusterSnapshotSeqs } from "@kasmap/db";
import { KeyBatcher, KeyLoadFailed } from "../cache/key-batcher.ts";
import { type SerializedClusterFacts, serializeClusterFacts } from "../http/agent-body-json.ts";
import { type AgentWithProject, findAgents } from "./agent-queries.ts";
import {
  type AgentConnectionsRead,
  loadConnectionsOfAgents,
  neverConnected,
} from "./collector-connections.ts";
import type { ReadModel } from "./registry-queries.ts";

/**
 * The per-agent loads behind the gateway's caches, batched (`KeyBatcher`): the agents, facts and
 * connections that many reads miss at once are read in one query per kind and turn, not one
 * round trip each. Each answers what its single-agent query answers (null: no such row).
 */
export type BatchedLoads = {
  agent(agentId: number): Promise<AgentWithProject | null>;
  /**
   * The agent's facts. Given the facts a cache holds (`stored`, a refresh), first only their
   * snapshot's sequence is read: unchanged, `stored` itself is the answer, and the facts (tens of
   * KB a 100-node cluster: parsed, validated, serialized and compared again) are not loaded.
   */
  clusterFacts(
    agentId: number,
    stored?: SerializedClusterFacts | null,
  ): Promise<SerializedClusterFacts | null>;
  connections(agentId: number): Promise<AgentConnectionsRead>;
};

/** Batched loads from `db` (the primary: a notice may precede a replica's replay). */
export function createBatchedLoads(db: ReadModel): BatchedLoads {
  const agents = new KeyBatcher<number, AgentWithProject | null>(
    (ids) => findAgents(db, ids),
    () => null,
  );
  const facts = new KeyBatcher<number, SerializedClusterFacts | null>(
    async (ids) => {
      const found = await loadClusterFactsOfAgents(db, ids);
      return new Map(
        [...found].map(([id, value]) => [
          id,
          value instanceof Error ? new KeyLoadFailed(value) : serializeClusterFacts(value),
        ]),
      );
    },
    () => null,
  );
  const seqs = new KeyBatcher<number, number | null>(
    (ids) => loadClusterSnapshotSeqs(db, ids),
    () => null,
  );
  const connections = new KeyBatcher<number, AgentConnectionsRead>(
    (ids) => loadConnectionsOfAgents(db, ids),
    neverConnected,
  );
  return {
    agent: (agentId) => agents.load(agentId),
    async clusterFacts(agentId, stored) {
      if (stored && (await seqs.load(agentId)) === stored.seq) return stored;
      return facts.load(agentId);
    },
    connections: (agentId) => connections.load(agentId),
  };
}
