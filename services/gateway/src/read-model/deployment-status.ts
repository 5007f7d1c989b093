import { CONNECTED_WITHIN_MS, type DeploymentStatus } from "@kasmap/contracts";

/**
 * `connected` while the last heartbeat is younger than `CONNECTED_WITHIN_MS` (a heartbeat from
 * the future, i.e. clock skew, counts as connected), `disconnected` once it is older,
 * `never_connected` when no heartbeat was ever recorded. Computed at response time, never
 * cached, because it changes with the clock alone.
 */
export function deploymentStatus(lastHeartbeatAt: Date | null, nowMs: number): DeploymentStatus {
  if (lastHeartbeatAt === null) return "never_connected";
  return nowMs - lastHeartbeatAt.getTime() < CONNECTED_WITHIN_MS ? "connected" : "disconnected";
}
