import { CONNECTED_WITHIN_MS, type DeploymentStatus } from "@kasmap/contracts";

/**
 * An agent's connection state as the read model holds it: its last applied heartbeat, and when
 * the projection confirmed that heartbeat's silence (`read_model.agent_connections`).
 */
export type HeartbeatState = {
  /** `last_heartbeat_at`; null: none was ever applied. */
  readonly lastHeartbeat: Date | null;
  /**
   * `disconnected_reported_at`: when the projection's sweep found `lastHeartbeat`
   * `CONNECTED_WITHIN_MS` old with no newer heartbeat of the agent waiting unread in the
   * heartbeat stream, and recorded `cluster_agent_disconnected`; null until then (a heartbeat
   * clears it).
   */
  readonly silenceConfirmedAt: Date | null;
};

/**
 * `connected` while the last heartbeat is younger than `CONNECTED_WITHIN_MS` (a heartbeat from
 * the future, i.e. clock skew, counts as connected); once older, `disconnected` if the projection
 * confirmed the silence, else `unknown`: the agent's newer heartbeats may wait unread in the
 * stream (the projection behind a backlog, a flood, a slow database), and its age then only
 * says how far behind the projection is. `never_connected` when no heartbeat was ever recorded.
 * Computed at response time, since it changes with the clock alone.
 *
 * The projection's `kasmap_projection_agents_connected` / `…_disconnected` gauges count by the
 * same rule in SQL (projection-metrics.ts).
 */
export function deploymentStatus(state: HeartbeatState, nowMs: number): DeploymentStatus {
  const { lastHeartbeat, silenceConfirmedAt } = state;
  if (lastHeartbeat === null) return "never_connected";
  if (nowMs - lastHeartbeat.getTime() < CONNECTED_WITHIN_MS) return "connected";
  return silenceConfirmedAt === null ? "unknown" : "disconnected";
}

/**
 * The moment `cluster_info.connections` and `agent_pod_ip` are decided at: `nowMs`, except while
 * `deploymentStatus` is `unknown`, when it is the last moment the agent was `connected` (its last
 * applied heartbeat plus `CONNECTED_WITHIN_MS`, less 1 ms). Then the projection is behind (or has
 * not swept yet) and every collector's applied heartbeat only says how far behind: the list stays
 * as it was the instant before the status turned `unknown` (a collector that had already left it
 * does not come back), and empties once the silence is confirmed (`disconnected`).
 */
export function connectionsAsOf(state: HeartbeatState, nowMs: number): number {
  const { lastHeartbeat } = state;
  return lastHeartbeat !== null && deploymentStatus(state, nowMs) === "unknown"
    ? lastHeartbeat.getTime() + CONNECTED_WITHIN_MS - 1
    : nowMs;
}
