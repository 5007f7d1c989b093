import { deploymentStatus } from "../read-model/deployment-status.ts";
import type { InventoryRow } from "../read-model/group-agent-queries.ts";
import { toCsv } from "./csv.ts";

export const INVENTORY_CSV_HEADER = [
  "project_path",
  "agent_id",
  "agent_name",
  "cluster_name",
  "cluster_context",
  "api_endpoint",
  "api_endpoint_ip",
  "platform",
  "region",
  "node_count",
  "internal_ip_count",
  "external_ip_count",
  "pod_cidrs",
  "service_cidrs",
  "deployment_status",
  "last_connection",
] as const;

/**
 * The group inventory as CSV, one record per agent. `deployment_status` is computed at `nowMs`
 * (`deploymentStatus`), as on every other read; an agent whose cluster never reported has empty
 * cluster cells.
 */
export function inventoryCsv(rows: readonly InventoryRow[], nowMs: number): string {
  return toCsv(
    INVENTORY_CSV_HEADER,
    rows.map((r) => {
      const heartbeat = r.last_heartbeat_at === null ? null : new Date(r.last_heartbeat_at);
      const silenceConfirmedAt =
        r.disconnected_reported_at === null ? null : new Date(r.disconnected_reported_at);
      return [
        r.project_path,
        r.agent_id,
        r.agent_name,
        r.cluster_name,
        r.cluster_context,
        r.api_endpoint,
        r.api_endpoint_ip,
        r.platform,
        r.region,
        r.node_count,
        r.internal_ip_count,
        r.external_ip_count,
        r.pod_cidrs,
        r.service_cidrs,
        deploymentStatus({ lastHeartbeat: heartbeat, silenceConfirmedAt }, nowMs),
        heartbeat?.toISOString() ?? null,
      ];
    }),
  );
}
