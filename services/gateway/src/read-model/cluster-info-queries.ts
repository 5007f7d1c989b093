import type { ClusterFacts, ClusterInfo } from "@kasmap/contracts";
import { agentPodIpOf, type CollectorConnectionRow, liveConnections } from "./collector-connections.ts";
import { connectionsAsOf, deploymentStatus, type HeartbeatState } from "./deployment-status.ts";

/** Shared with the projection's audit log (`@kasmap/db`). */
export { loadClusterFacts } from "@kasmap/db";

/**
 * `cluster_info` as the API returns it: null until the first snapshot; otherwise the facts plus
 * `deployment_status` (`deploymentStatus` at `nowMs`), `last_connection` (ISO-8601) and
 * `connections` (the collectors live at `nowMs`, or when the agent was last heard from while its
 * status is `unknown`: `connectionsAsOf`); `agent_pod_ip` from the newest heartbeat that names one
 * (`agentPodIpOf`).
 */
export function composeClusterInfo(
  facts: ClusterFacts | null,
  heartbeat: HeartbeatState,
  nowMs: number,
  collectors: readonly CollectorConnectionRow[] = [],
): ClusterInfo | null {
  if (facts === null) return null;
  const { lastHeartbeat } = heartbeat;
  const asOf = connectionsAsOf(heartbeat, nowMs);
  return {
    ...facts,
    agent_pod_ip: agentPodIpOf(facts.agent_pod_ip, collectors, asOf),
    deployment_status: deploymentStatus(heartbeat, nowMs),
    last_connection: lastHeartbeat ? lastHeartbeat.toISOString() : null,
    connections: liveConnections(collectors, asOf),
  };
}
