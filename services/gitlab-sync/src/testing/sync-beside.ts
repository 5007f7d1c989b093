import { createLogger } from "@kasmap/logging";
import type { KasmapSystem } from "@kasmap/testing/system";
import { type GitLabSync, type GitLabSyncOptions, startGitLabSync } from "../index.ts";

/**
 * Another sync service beside `system`'s own (on its bus, so with its authz), mirroring
 * `root-group` of the GitLab at `gitlab.url` with `gitlab.token`: one reconcile at start, then
 * only when a test asks (`reconcileNow`). `options`: what the system does not let a test set,
 * e.g. the sync host's clock (`now`), a fetch that injects GitLab's failures, a registry
 * to read its metrics from.
 */
export function startSyncBeside(
  system: KasmapSystem,
  gitlab: { url: string; token: string },
  options: Pick<GitLabSyncOptions, "now" | "fetch" | "metrics"> = {},
): Promise<GitLabSync> {
  return startGitLabSync({
    ...options,
    bus: system.bus,
    gitlabUrl: gitlab.url,
    gitlabToken: gitlab.token,
    rootGroups: ["root-group"],
    reconcileSeconds: 3600,
    timeoutMs: 5_000,
    logger: createLogger("gitlab-sync", "silent"),
  });
}
