import type { CiAccessOptions } from "@kasmap/access-rules";
import type { Bus, StorageMonitor, StorageWarningThreshold } from "@kasmap/bus";
import type { Logger } from "@kasmap/logging";
import type { AccessSource } from "./access/access-source.ts";
import type { GatewayCaches } from "./cache/gateway-caches.ts";
import type { GitLabUpstream } from "./gitlab/gitlab-upstream.ts";
import type { GatewayLimits } from "./http/gateway-limits.ts";
import type { GatewayMetrics } from "./http/metrics.ts";
import type { ExternalUrlSettings } from "./http/request-url.ts";
import type { BatchedLoads } from "./read-model/batched-loads.ts";
import type { ReadRouting } from "./read-model/read-routing.ts";
import type { ReadModel } from "./read-model/registry-queries.ts";

/**
 * The gateway's part of GitLab mode's mirror (issue 9): the secrets GitLab's deliveries must
 * carry (null: that route answers 401 to everyone) — and, being present at all, that readiness
 * and metrics report the mirror's staleness (services/gitlab-sync's status).
 */
export type GatewayGitLabMirror = {
  readonly hookSecret: string | null;
  readonly streamingToken: string | null;
};

/** What every route needs; built once by `startGateway`. */
export type GatewayContext = {
  /**
   * The read model for a read: the replica (`DATABASE_READ_URL`) when it has replayed past the
   * last write this gateway acknowledged, else the primary (`reads.current()`; see read-routing.ts).
   */
  readonly db: ReadModel;
  /** The primary: cache loads (a notice may precede the replica's replay) and read-your-writes waits. */
  readonly primaryDb: ReadModel;
  /** The caches' per-agent loads from the primary, batched per turn of the event loop. */
  readonly loads: BatchedLoads;
  readonly reads: ReadRouting;
  readonly bus: Bus;
  readonly logger: Logger;
  readonly caches: GatewayCaches;
  /** Who decides access: Kasmap's registry (standalone) or GitLab (GitLab mode). */
  readonly access: AccessSource;
  /** GitLab mode: the GitLab that GitLab's own routes are forwarded to; null standalone. */
  readonly gitlab: GitLabUpstream | null;
  readonly metrics: GatewayMetrics;
  /** How long a write waits for the projection to apply its events (read-your-writes), ms. */
  readonly writeWaitMs: number;
  /** Body size, timeouts and live connections per user (README "Limits"). */
  readonly limits: GatewayLimits;
  /** A job token stops working this long after its job was registered, even while it runs, ms. */
  readonly jobTokenMaxLifetimeMs: number;
  /** GitLab's `agent_authorization_include_descendants`, for the allowed-agents answers. */
  readonly ciAccess: CiAccessOptions;
  /** Where Kasmap is reached from outside (`KASMAP_EXTERNAL_URL`, `KASMAP_TRUSTED_PROXIES`), for links. */
  readonly externalUrl: ExternalUrlSettings;
  /** Whether NATS is connected and change notices are flowing. */
  readonly natsConnected: () => boolean;
  /** Notes about the NATS server that readiness reports without failing (e.g. anonymous access). */
  readonly natsWarnings: readonly string[];
  /** JetStream storage use, for `/metrics` and the readiness warning (issue 7.6). */
  readonly jetStreamStorage: StorageMonitor;
  readonly jetStreamStorageWarning: StorageWarningThreshold;
  /** GitLab mode's hook routes and mirror status; null in standalone mode. */
  readonly gitlabMirror: GatewayGitLabMirror | null;
};
