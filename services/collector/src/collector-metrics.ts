import { Counter, type Registry, valueGauge } from "@kasmap/runtime/metrics";
import type { WatchCounters } from "./kube/resource-watcher.ts";
import type { PublishOutcome } from "./snapshot-publisher.ts";

/** What the collector's code records. */
export type CollectorMetrics = WatchCounters & {
  /**
   * A snapshot cycle ended: published, found unchanged on the subject, behind another replica's
   * newer snapshot, or refused as too large.
   */
  snapshot(outcome: PublishOutcome): void;
  /** Publishing a snapshot failed (NATS away, refused): the cycle is retried. */
  publishFailed(): void;
  heartbeat(outcome: "sent" | "failed"): void;
};

/**
 * Registers the collector's metrics on `registry`:
 *
 * - `kasmap_collector_snapshot_age_seconds`: seconds since the snapshot on the agent's subject
 *   was last confirmed to be the cluster's state (published, or found unchanged by a cycle);
 *   cycles run on changes only, so a quiet cluster's age grows, and a collector that cannot
 *   publish shows it here too; absent before the first;
 * - `kasmap_collector_snapshot_publishes_total{outcome}` (`published`, `unchanged`,
 *   `behind`, `too_large`), `kasmap_collector_snapshot_publish_errors_total`;
 * - `kasmap_collector_heartbeats_total{outcome}` (`sent`, `failed`);
 * - `kasmap_collector_relists_total{source}`, `kasmap_collector_watch_restarts_total{source}`,
 *   `source` being one of the watched kinds (`nodes`, `services`, …).
 */
export function registerCollectorMetrics(registry: Registry): CollectorMetrics {
  let confirmedAt: number | null = null;
  valueGauge(registry, {
    name: "kasmap_collector_snapshot_age_seconds",
    help: "Seconds since the agent's snapshot on NATS was last confirmed to be the cluster's state (published or unchanged).",
    read: () => (confirmedAt === null ? null : (Date.now() - confirmedAt) / 1000),
  });
  const counter = (name: string, help: string, labelNames: string[] = []) =>
    new Counter({ name, help, labelNames, registers: [registry] });
  const publishes = counter(
    "kasmap_collector_snapshot_publishes_total",
    "Snapshot cycles by outcome: published, unchanged (already on NATS), behind (another replica's snapshot is newer), too_large (over max_payload).",
    ["outcome"],
  );
  const publishErrors = counter(
    "kasmap_collector_snapshot_publish_errors_total",
    "Snapshot publishes that failed (the cycle is retried).",
  );
  const heartbeats = counter("kasmap_collector_heartbeats_total", "Heartbeats by outcome: sent, failed.", [
    "outcome",
  ]);
  const relists = counter(
    "kasmap_collector_relists_total",
    "Lists of a watched source after its first (410 Gone, a failure, a recheck).",
    ["source"],
  );
  const watchRestarts = counter(
    "kasmap_collector_watch_restarts_total",
    "Watches reopened from their last resourceVersion after the API server ended them.",
    ["source"],
  );
  for (const outcome of ["published", "unchanged", "behind", "too_large"]) publishes.inc({ outcome }, 0);
  for (const outcome of ["sent", "failed"]) heartbeats.inc({ outcome }, 0);
  return {
    snapshot(outcome) {
      publishes.inc({ outcome: outcome === "too-large" ? "too_large" : outcome });
      if (outcome === "published" || outcome === "unchanged") confirmedAt = Date.now();
    },
    publishFailed: () => publishErrors.inc(),
    heartbeat: (outcome) => heartbeats.inc({ outcome }),
    relisted: (source) => relists.inc({ source }),
    watchRestarted: (source) => watchRestarts.inc({ source }),
  };
}
