import { mirrorStaleness, SyncStatusSchema } from "@kasmap/contracts";
import type { GatewayContext } from "../context.ts";

/**
 * GitLab mode's mirror as readiness reports it: `ok`, `stale` (no reconcile completed within
 * twice the period, or GitLab unreachable: Kasmap serves the last mirror) or `failed` (the sync
 * service did not answer). Reported, never gating: the gateway keeps serving the last mirror.
 */
export type MirrorCheck =
  | {
      status: "ok" | "stale";
      last_reconcile_completed_at: string | null;
      /** Seconds since the last completed reconcile; absent before the first. */
      age_seconds?: number;
      reconcile_seconds: number;
      gitlab_reachable: boolean;
      last_error?: string;
      mirrored?: { groups: number; projects: number; agents: number };
    }
  | { status: "failed"; message: string };

const decoder = new TextDecoder();

/** Asks services/gitlab-sync (`<root>.cmd.sync.status`) how fresh the mirror is. */
export async function mirrorStatus(ctx: GatewayContext, timeoutMs: number): Promise<MirrorCheck> {
  try {
    const reply = await ctx.bus.nc.request(ctx.bus.topology.subjects.syncCommand("status"), "{}", {
      timeout: timeoutMs,
    });
    const status = SyncStatusSchema.parse(JSON.parse(decoder.decode(reply.data)));
    const { stale, ageSeconds } = mirrorStaleness(status);
    return {
      status: stale ? "stale" : "ok",
      last_reconcile_completed_at: status.last_reconcile_completed_at,
      ...(ageSeconds === null ? {} : { age_seconds: ageSeconds }),
      reconcile_seconds: status.reconcile_seconds,
      gitlab_reachable: status.gitlab_reachable,
      ...(status.last_error === null ? {} : { last_error: status.last_error }),
      ...(status.mirrored === null ? {} : { mirrored: status.mirrored }),
    };
  } catch {
    return { status: "failed", message: "the GitLab sync service did not report its status" };
  }
}
