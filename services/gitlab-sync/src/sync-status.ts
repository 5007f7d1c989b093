import type { Bus } from "@kasmap/bus";
import type { SyncStatus } from "@kasmap/contracts";
import type { GitLabClient } from "@kasmap/gitlab-api";
import { GitLabApiError } from "@kasmap/gitlab-api";
import type { Logger } from "@kasmap/logging";
import type { Subscription } from "@nats-io/nats-core";
import type { MirrorCommands } from "./mirror-commands.ts";

/** What the service knows about its own health; `<root>.cmd.sync.status` answers from it. */
export class SyncHealth {
  lastReconcileStartedAt: Date | null = null;
  lastReconcileCompletedAt: Date | null = null;
  lastError: string | null = null;
  /**
   * How many reads of one item (a project's agent listing, an agent's config file) GitLab would
   * not answer in the last completed reconcile (their mirror was kept); null before the first.
   */
  lastReconcileUnread: number | null = null;
  gitlabReachable = true;

  constructor(readonly reconcileSeconds: number) {}

  /** Records a failure for the operator (bounded, one line; messages never hold a token). */
  failed(error: unknown): void {
    const text = error instanceof Error ? error.message : String(error);
    this.lastError = text.replace(/[\r\n]+/g, " ").slice(0, 1000);
  }

  snapshot(mirrored: SyncStatus["mirrored"]): SyncStatus {
    return {
      reconcile_seconds: this.reconcileSeconds,
      last_reconcile_started_at: this.lastReconcileStartedAt?.toISOString() ?? null,
      last_reconcile_completed_at: this.lastReconcileCompletedAt?.toISOString() ?? null,
      last_error: this.lastError,
      gitlab_reachable: this.gitlabReachable,
      mirrored,
    };
  }
}

/** GitLab did not answer (or answered only with server errors): the mirror may be stale. */
export function isGitLabDown(error: unknown): boolean {
  return error instanceof GitLabApiError && (error.kind === "unreachable" || error.kind === "server");
}

/** The client, with every call's outcome recorded as `gitlabReachable`. */
export function observedGitLab(client: GitLabClient, health: SyncHealth): GitLabClient {
  const observe = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      const result = await call();
      health.gitlabReachable = true;
      return result;
    } catch (error) {
      health.gitlabReachable = !isGitLabDown(error);
      throw error;
    }
  };
  return {
    apiUrl: client.apiUrl,
    get: (path, schema, options) => observe(() => client.get(path, schema, options)),
    getAtRoot: (path, schema, options) => observe(() => client.getAtRoot(path, schema, options)),
    raw: (path, options) => observe(() => client.raw(path, options)),
    pages(path, schema, options) {
      const pages = client.pages(path, schema, options);
      return {
        async *[Symbol.asyncIterator]() {
          const iterator = pages[Symbol.asyncIterator]();
          for (;;) {
            const next = await observe(() => iterator.next());
            if (next.done) return;
            yield next.value;
          }
        },
      };
    },
  };
}

/** How long the status handler waits for authz's counts before answering without them. */
const MIRROR_STATUS_TIMEOUT_MS = 1_000;

/**
 * Answers `<root>.cmd.sync.status` (queue group `kasmap-gitlab-sync`, so replicas share it) with
 * the health and authz's mirrored counts (null when authz does not answer in time).
 */
export function serveSyncStatus(
  bus: Bus,
  health: SyncHealth,
  mirror: MirrorCommands,
  logger: Logger,
): Subscription {
  return bus.nc.subscribe(bus.topology.subjects.syncCommand("status"), {
    queue: "kasmap-gitlab-sync",
    callback: (error, message) => {
      if (error) {
        logger.warn({ err: error }, "sync status subscription failed");
        return;
      }
      mirror
        .status(MIRROR_STATUS_TIMEOUT_MS)
        .catch(() => null)
        .then((mirrored) => message.respond(JSON.stringify(health.snapshot(mirrored))))
        .catch((failure: unknown) => logger.warn({ err: failure }, "sync status not answered"));
    },
  });
}
