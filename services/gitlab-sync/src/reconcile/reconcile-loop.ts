import { sleep } from "@kasmap/bus";
import type { Logger } from "@kasmap/logging";
import type { GitLabMirror } from "../gitlab-mirror.ts";
import type { MirroredCounts } from "../mirror-commands.ts";
import type { SyncHealth } from "../sync-status.ts";
import { walkGitLab } from "./walk-gitlab.ts";

/**
 * How far before the walk's start the sweep's `before` is set. authz stamps `mirrored_at` with
 * its own clock; a sync host whose clock runs ahead must not make the sweep remove what this very
 * walk just put. Something GitLab deleted within this margin before a walk waits for the next one.
 */
export const SWEEP_CLOCK_MARGIN_MS = 1_000;

export type ReconcileOutcome =
  | { completed: true; removed: MirroredCounts; groups: number; projects: number; skipped: string[] }
  | { completed: false; error: string };

export type ReconcileLoop = {
  /** Runs a full reconcile after the one in progress (if any); resolves with its outcome. */
  reconcileNow(): Promise<ReconcileOutcome>;
  stop(): Promise<void>;
};

/**
 * A full reconcile at once, then one every `periodMs` after the previous one ended: walk GitLab,
 * and only after a complete walk sweep what no put stamped since the walk began. A failed walk
 * (GitLab unreachable, authz not answering) is logged and recorded in `health`, and removes
 * nothing: the last mirror is kept until a walk completes.
 */
export function startReconcileLoop(options: {
  gitlab: GitLabMirror;
  rootGroups: readonly string[] | null;
  health: SyncHealth;
  periodMs: number;
  logger: Logger;
}): ReconcileLoop {
  const { gitlab, health, logger } = options;
  const stopped = new AbortController();
  let queue: Promise<unknown> = Promise.resolve();

  async function reconcileOnce(): Promise<ReconcileOutcome> {
    const startedAt = new Date();
    health.lastReconcileStartedAt = startedAt;
    try {
      const walk = await walkGitLab(gitlab, options.rootGroups, logger);
      const before = new Date(startedAt.getTime() - SWEEP_CLOCK_MARGIN_MS);
      const removed = await gitlab.mirror.sweep(before, walk.rootGroupIds);
      health.lastReconcileCompletedAt = new Date();
      if (walk.skipped.length > 0) health.failed(`not mirrored: ${walk.skipped.join("; ")}`);
      else health.lastError = null;
      logger.info(
        { groups: walk.groups, projects: walk.projects, skipped: walk.skippedCount, removed },
        "GitLab reconcile completed",
      );
      return {
        completed: true,
        removed,
        groups: walk.groups,
        projects: walk.projects,
        skipped: walk.skipped,
      };
    } catch (error) {
      health.failed(error);
      logger.warn({ err: error }, "GitLab reconcile failed; the mirror is kept as it was, nothing swept");
      return { completed: false, error: health.lastError ?? String(error) };
    }
  }

  function enqueue(): Promise<ReconcileOutcome> {
    const run = queue.then(() =>
      stopped.signal.aborted ? { completed: false as const, error: "stopped" } : reconcileOnce(),
    );
    queue = run.catch(() => {});
    return run;
  }

  const periodic = (async () => {
    while (!stopped.signal.aborted) {
      await enqueue();
      await sleep(options.periodMs, stopped.signal);
    }
  })();

  return {
    reconcileNow: enqueue,
    async stop() {
      stopped.abort();
      await periodic;
      await queue;
    },
  };
}
