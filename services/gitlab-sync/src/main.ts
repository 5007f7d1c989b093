import { connectServiceBus, logStartRetry, retryAtStart } from "@kasmap/bus";
import { parseEnv } from "@kasmap/contracts";
import { createLogger } from "@kasmap/logging";
import { runService, UsageError } from "@kasmap/runtime";
import { createProgramRegistry, serveMetricsIfConfigured } from "@kasmap/runtime/metrics";
import { GitLabSyncEnvSchema, startGitLabSync } from "./index.ts";

/** Runs GitLab mode's mirror until SIGTERM/SIGINT (docs/gitlab-mode.md). */
await runService({
  name: "gitlab-sync",
  config: () => {
    const env = parseEnv(GitLabSyncEnvSchema);
    if (!env.KASMAP_GITLAB_URL)
      throw new UsageError("KASMAP_GITLAB_URL is required: the sync service runs only in GitLab mode");
    if (!env.KASMAP_GITLAB_TOKEN) throw new UsageError("KASMAP_GITLAB_TOKEN is required in GitLab mode");
    return { ...env, KASMAP_GITLAB_URL: env.KASMAP_GITLAB_URL, KASMAP_GITLAB_TOKEN: env.KASMAP_GITLAB_TOKEN };
  },
  logger: (env) => createLogger("gitlab-sync", env.LOG_LEVEL),
  async run(env, logger) {
    const metrics = createProgramRegistry();
    const metricsServer = await serveMetricsIfConfigured(metrics, env, logger);
    const { bus } = await connectServiceBus(env, "kasmap-gitlab-sync", logger);
    // The inbox stream is declared by authz, which may start after this service.
    const sync = await retryAtStart(
      "the GitLab inbox stream (authz declares it)",
      () =>
        startGitLabSync({
          bus,
          gitlabUrl: env.KASMAP_GITLAB_URL,
          gitlabToken: env.KASMAP_GITLAB_TOKEN,
          rootGroups: env.KASMAP_GITLAB_ROOT_GROUPS,
          reconcileSeconds: env.KASMAP_GITLAB_RECONCILE_SECONDS,
          timeoutMs: env.KASMAP_GITLAB_TIMEOUT_MS,
          logger,
          metrics,
        }),
      logStartRetry(logger),
    );
    return {
      async stop() {
        await sync.stop();
        await bus.close();
        await metricsServer.stop();
      },
    };
  },
});
