import { mirrorStaleness } from "@kasmap/contracts";
import { Counter, Gauge, type Registry, valueGauge } from "@kasmap/runtime/metrics";
import type { SyncHealth } from "./sync-status.ts";

/**
 * Registers the sync service's metrics on `registry`, read from `health` at scrape time, and
 * returns the `fetch` the GitLab client should use, which counts every answer, and the function
 * that removes them again (a start that failed is retried on the same registry):
 *
 * - `kasmap_gitlab_sync_mirror_stale`: 1 when no reconcile completed within twice the period,
 *   none completed yet, or GitLab did not answer the last request (`mirrorStaleness`);
 * - `kasmap_gitlab_sync_last_reconcile_completed_timestamp_seconds` (absent before the first),
 *   `kasmap_gitlab_sync_reconcile_period_seconds`;
 * - `kasmap_gitlab_sync_reconcile_unread_items`: reads of one item (a project's agent listing, an
 *   agent's config file) GitLab would not answer in the last completed reconcile, whose mirror
 *   was kept as it was (absent before the first; the status's `last_error` names them);
 * - `kasmap_gitlab_sync_requests_total{status}`: each HTTP answer from GitLab by status code
 *   (`429` is GitLab's rate limit), `error` when no answer came (network, timeout); retries
 *   count once each.
 */
export function registerSyncMetrics(
  registry: Registry,
  health: SyncHealth,
  inner: typeof fetch,
): { fetch: typeof fetch; unregister(): void } {
  valueGauge(registry, {
    name: "kasmap_gitlab_sync_mirror_stale",
    help: "1 when the GitLab mirror is stale: no reconcile completed within twice the period (or none yet), or GitLab unreachable.",
    read: () => (mirrorStaleness(health.snapshot(null)).stale ? 1 : 0),
  });
  valueGauge(registry, {
    name: "kasmap_gitlab_sync_last_reconcile_completed_timestamp_seconds",
    help: "When the last full reconcile with GitLab completed, Unix seconds.",
    read: () =>
      health.lastReconcileCompletedAt === null ? null : health.lastReconcileCompletedAt.getTime() / 1000,
  });
  valueGauge(registry, {
    name: "kasmap_gitlab_sync_reconcile_unread_items",
    help: "Reads of one item (a project's agent listing, an agent's config file) GitLab did not answer in the last completed reconcile; their mirror was kept.",
    read: () => health.lastReconcileUnread,
  });
  new Gauge({
    name: "kasmap_gitlab_sync_reconcile_period_seconds",
    help: "Period of the full reconcile with GitLab (KASMAP_GITLAB_RECONCILE_SECONDS).",
    registers: [registry],
  }).set(health.reconcileSeconds);
  const requests = new Counter({
    name: "kasmap_gitlab_sync_requests_total",
    help: "Requests to GitLab's API by answer status (429: rate limited; error: no answer).",
    labelNames: ["status"],
    registers: [registry],
  });
  const counted: typeof fetch = async (input, init) => {
    try {
      const response = await inner(input, init);
      requests.inc({ status: String(response.status) });
      return response;
    } catch (error) {
      requests.inc({ status: "error" });
      throw error;
    }
  };
  return {
    fetch: counted,
    unregister() {
      for (const name of SYNC_METRIC_NAMES) registry.removeSingleMetric(name);
    },
  };
}

const SYNC_METRIC_NAMES = [
  "kasmap_gitlab_sync_mirror_stale",
  "kasmap_gitlab_sync_last_reconcile_completed_timestamp_seconds",
  "kasmap_gitlab_sync_reconcile_period_seconds",
  "kasmap_gitlab_sync_reconcile_unread_items",
  "kasmap_gitlab_sync_requests_total",
] as const;
