import { sleep } from "@kasmap/bus";
import type { Logger } from "@kasmap/logging";
import type { GitLabMirror } from "../gitlab-mirror.ts";
import type { MirroredCounts } from "../mirror-commands.ts";
import type { SyncHealth } from "../sync-status.ts";
import { walkGitLab } from "./walk-gitlab.ts";

/** Why a complete walk removed nothing GitLab deleted: authz cannot say when the walk began. */
const NOT_SWEPT =
  "nothing swept: authz does not know mirror.walk.begin (an older authz); deletions missed by hooks wait for an upgraded authz";

export type ReconcileOutcome =
  | {
      completed: true;
      /** What the sweep removed; null: nothing was swept (authz predates `mirror.walk.begin`). */
      removed: MirroredCounts | null;
      groups: number;
      projects: number;
      skipped: string[];
      /** Reads GitLab would not answer for one item (`WalkResult.unread`); their mirror was kept. */
      unread: string[];
      /** Projects GitLab deleted while the walk ran, found and removed by it (`WalkResult.gone`). */
      gone: number;
    }
  | { completed: false; error: string };

export type ReconcileLoop = {
  /** Runs a full reconcile after the one in progress (if any); resolves with its outcome. */
  reconcileNow(): Promise<ReconcileOutcome>;
  stop(): Promise<void>;
};

/**
 * A full reconcile at once, then one every `periodMs` after the previous one ended: ask authz
 * when the walk begins (`mirror.walk.begin`, by the clock every put stamps with), walk GitLab,
 * and only after a complete walk sweep what no put stamped since. The sync host's own clock
 * (`now`) only dates the health it reports: a host whose clock runs ahead or behind authz's
 * cannot make a sweep remove what the walk put. A failed walk (GitLab unreachable, authz not
 * answering) is logged and recorded in `health`, and removes nothing: the last mirror is kept
 * until a walk completes. Against an authz without `mirror.walk.begin` (an older version during
 * an upgrade) the walk puts everything and sweeps nothing, and says so in `health`.
 */
export function startReconcileLoop(options: {
  gitlab: GitLabMirror;
  rootGroups: readonly string[] | null;
  health: SyncHealth;
  periodMs: number;
  logger: Logger;
  now: () => Date;
}): ReconcileLoop {
  const { gitlab, health, logger } = options;
  const stopped = new AbortController();
  let queue: Promise<unknown> = Promise.resolve();

  async function reconcileOnce(): Promise<ReconcileOutcome> {
    health.lastReconcileStartedAt = options.now();
    try {
      const walkStartedAt = await gitlab.mirror.beginWalk();
      if (walkStartedAt === null) logger.warn(NOT_SWEPT);
      const walk = await walkGitLab(gitlab, options.rootGroups, logger, {
        sweeping: walkStartedAt !== null,
      });
      const removed =
        walkStartedAt === null ? null : await gitlab.mirror.sweep(walkStartedAt, walk.rootGroupIds);
      health.lastReconcileCompletedAt = options.now();
      health.lastReconcileUnread = walk.unreadCount;
      const problems = [
        ...(walk.skipped.length > 0 ? [`not mirrored: ${walk.skipped.join("; ")}`] : []),
        ...(walk.unread.length > 0 ? [`not read from GitLab, mirror kept: ${walk.unread.join("; ")}`] : []),
        ...(removed === null ? [NOT_SWEPT] : []),
      ];
      if (problems.length > 0) health.failed(problems.join(" | "));
      else health.lastError = null;
      logger.info(
        {
          groups: walk.groups,
          projects: walk.projects,
          skipped: walk.skippedCount,
          unread: walk.unreadCount,
          gone: walk.gone,
          removed,
        },
        "GitLab reconcile completed",
      );
      return {
        completed: true,
        removed,
        groups: walk.groups,
        projects: walk.projects,
        skipped: walk.skipped,
        unread: walk.unread,
        gone: walk.gone,
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
