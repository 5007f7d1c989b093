import { CommonEnvSchema, GitLabModeEnvSchema, MetricsEnvSchema } from "@kasmap/contracts";
import type { z } from "zod";

/**
 * The sync service's environment (`services/gitlab-sync/src/main.ts`; `npm start` composes it):
 * the common settings, `MetricsEnvSchema` and GitLab mode's (`KASMAP_GITLAB_URL`, `KASMAP_GITLAB_TOKEN`,
 * `KASMAP_GITLAB_ROOT_GROUPS`, `KASMAP_GITLAB_RECONCILE_SECONDS`, `KASMAP_GITLAB_TIMEOUT_MS`).
 */
export const GitLabSyncEnvSchema = CommonEnvSchema.extend(MetricsEnvSchema.shape).extend(
  GitLabModeEnvSchema.shape,
);
export type GitLabSyncEnv = z.infer<typeof GitLabSyncEnvSchema>;
