import { appliedStreamPositions } from "@kasmap/db";
import type { ProjectionTestContext } from "./projection-context.ts";

type CollectorRole = "cluster" | "heartbeat" | "registry";

/** The last sequence of the context's `role` stream; 0 while it is empty. */
export async function lastSeq(ctx: ProjectionTestContext, role: CollectorRole): Promise<number> {
  const info = await ctx.bus.jsm.streams.info(ctx.topology.streamNames[role]);
  return info.state.messages === 0 ? 0 : info.state.last_seq;
}

/**
 * True once the read model has applied the cluster, heartbeat and registry streams up to their
 * last messages (every partition of a layout included: `appliedStreamPositions`), else undefined
 * (for `eventually`).
 */
export async function allStreamsApplied(ctx: ProjectionTestContext): Promise<true | undefined> {
  const roles = ["cluster", "heartbeat", "registry"] as const;
  const names = roles.map((role) => ctx.topology.streamNames[role]);
  const applied = await appliedStreamPositions(ctx.db, names);
  for (const [i, role] of roles.entries()) {
    if ((applied.get(names[i] ?? "") ?? 0) < (await lastSeq(ctx, role))) return undefined;
  }
  return true;
}
