import { type Bus, publishEvent } from "@kasmap/bus";
import { clusterFactsContentHash, deriveClusterFacts } from "@kasmap/cluster-info";
import { largeDualStackObservation } from "@kasmap/cluster-info/testing";
import { EVENT_TYPES, newKasmapEvent } from "@kasmap/contracts";

/**
 * Publishes a snapshot of a 100-node dual-stack cluster on `agentId`'s subject, as its collector
 * would: the `cluster_info` the read benches serve, at a realistic size.
 */
export async function publishLargeSnapshot(bus: Bus, agentId: number): Promise<void> {
  const facts = deriveClusterFacts(largeDualStackObservation(100), new Date());
  await publishEvent(
    bus,
    newKasmapEvent({
      type: EVENT_TYPES.clusterSnapshot,
      source: "/kasmap/bench",
      subject: bus.topology.subjects.clusterSnapshot(agentId),
      data: { agent_id: agentId, content_hash: clusterFactsContentHash(facts), cluster: facts },
    }),
  );
}
