import type { StreamPosition } from "@kasmap/contracts";
import { appliedStreamPositions } from "@kasmap/db";
import type { ReadModel } from "./registry-queries.ts";

/**
 * Waits until the projection has applied every position: `appliedStreamPositions` (the
 * unpartitioned consumers' positions, and for partitioned streams the lowest checkpoint of their
 * partitions, issue 12) reaches `seq` for its stream, polled every `pollMs`. Resolves `true` when reached, `false` after `timeoutMs` (the caller answers
 * anyway: the write is stored in the log and will be applied).
 */
export async function waitForPositions(
  db: ReadModel,
  positions: readonly StreamPosition[],
  timeoutMs: number,
  pollMs = 15,
): Promise<boolean> {
  const needed = new Map<string, number>();
  for (const p of positions) needed.set(p.stream, Math.max(needed.get(p.stream) ?? 0, p.seq));
  if (needed.size === 0) return true;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const applied = await appliedStreamPositions(db, [...needed.keys()]);
    if ([...needed].every(([stream, seq]) => (applied.get(stream) ?? -1) >= seq)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, Math.max(1, deadline - Date.now()))));
  }
}
