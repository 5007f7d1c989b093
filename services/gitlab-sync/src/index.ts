import type { Bus } from "@kasmap/bus";
import { createGitLabClient } from "@kasmap/gitlab-api";
import { createLogger, type Logger } from "@kasmap/logging";
import { instrumentBus, Registry } from "@kasmap/runtime/metrics";
import { GitLabMirror } from "./gitlab-mirror.ts";
import { type InboxConsumer, startInboxConsumer } from "./inbox/inbox-consumer.ts";
import { mirrorCommands } from "./mirror-commands.ts";
import { type ReconcileOutcome, startReconcileLoop } from "./reconcile/reconcile-loop.ts";
import { registerSyncMetrics } from "./sync-metrics.ts";
import { observedGitLab, SyncHealth, serveSyncStatus } from "./sync-status.ts";

export { type GitLabSyncEnv, GitLabSyncEnvSchema } from "./gitlab-sync-env.ts";
export { INBOX_CONSUMER } from "./inbox/inbox-consumer.ts";
export type { ReconcileOutcome } from "./reconcile/reconcile-loop.ts";

export type GitLabSyncOptions = {
  bus: Bus;
  /** GitLab's root URL (`KASMAP_GITLAB_URL`). */
  gitlabUrl: string;
  /** A token with `read_api` that sees what should be mirrored (`KASMAP_GITLAB_TOKEN`). */
  gitlabToken: string;
  /** Top-level (or any) group paths to mirror; null: everything the token sees. */
  rootGroups?: readonly string[] | null;
  /** Period of the full reconcile, seconds (`KASMAP_GITLAB_RECONCILE_SECONDS`, default 300). */
  reconcileSeconds?: number;
  /** One request to GitLab, ms (`KASMAP_GITLAB_TIMEOUT_MS`, default 10 s). */
  timeoutMs?: number;
  logger?: Logger;
  /** For tests and benches: a GitLab client's fetch. */
  fetch?: typeof fetch;
  /**
   * The sync host's clock (default the system's): dates the health it reports, never what a
   * sweep removes (authz's clock does). For tests: a host whose clock is off.
   */
  now?: () => Date;
  /** Where its metrics go (`registerSyncMetrics`, `instrumentBus`); default a registry of its own. */
  metrics?: Registry;
};

export type GitLabSync = {
  /** Runs a full reconcile after the one in progress; resolves with its outcome. */
  reconcileNow(): Promise<ReconcileOutcome>;
  stop(): Promise<void>;
};

/**
 * Starts GitLab mode's mirror (issue 9, docs/gitlab-mode.md): the status responder
 * (`<root>.cmd.sync.status`), the durable consumer of GitLab's deliveries, and the full
 * reconcile at start and every `reconcileSeconds`. Everything it learns goes to authz as
 * `mirror.*` commands. `stop()` ends all three; the bus belongs to the caller.
 */
export async function startGitLabSync(options: GitLabSyncOptions): Promise<GitLabSync> {
  const logger = options.logger ?? createLogger("gitlab-sync");
  const reconcileSeconds = options.reconcileSeconds ?? 300;
  const health = new SyncHealth(reconcileSeconds);
  const registry = options.metrics ?? new Registry();
  const syncMetrics = registerSyncMetrics(registry, health, options.fetch ?? globalThis.fetch);
  const client = createGitLabClient({
    baseUrl: options.gitlabUrl,
    token: options.gitlabToken,
    timeoutMs: options.timeoutMs ?? 10_000,
    logger,
    fetch: syncMetrics.fetch,
  });
  const stopBusMetrics = instrumentBus(registry, options.bus, "gitlab-sync");
  const mirror = mirrorCommands(options.bus);
  const gitlab = new GitLabMirror(observedGitLab(client, health), mirror);
  const rootGroups = options.rootGroups ?? null;
  const status = serveSyncStatus(options.bus, health, mirror, logger);
  let inbox: InboxConsumer;
  try {
    inbox = await startInboxConsumer({ bus: options.bus, gitlab, rootGroups, health, logger });
  } catch (error) {
    status.unsubscribe();
    stopBusMetrics();
    syncMetrics.unregister();
    throw error;
  }
  const loop = startReconcileLoop({
    gitlab,
    rootGroups,
    health,
    periodMs: reconcileSeconds * 1000,
    logger,
    now: options.now ?? (() => new Date()),
  });
  return {
    reconcileNow: loop.reconcileNow,
    async stop() {
      await loop.stop();
      await inbox.stop();
      status.unsubscribe();
      stopBusMetrics();
    },
  };
}
