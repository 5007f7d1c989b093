import type { StreamPosition } from "@kasmap/contracts";
import type { ReadModel } from "./registry-queries.ts";

/**
 * Waits until the projection has applied every position (a row of
 * `read_model.projection_positions` for that stream with `stream_seq >= seq`), polling
 * `select stream, max(stream_seq) from read_model.projection_positions where stream in (...)
 * group by stream`. Resolves `true` when reached, `false` after `timeoutMs` (the caller answers
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
    const rows = await db
      .selectFrom("read_model.projection_positions")
      .select(["stream", (eb) => eb.fn.max("stream_seq").as("seq")])
      .where("stream", "in", [...needed.keys()])
      .groupBy("stream")
      .execute();
    const applied = new Map(rows.map((r) => [r.stream, Number(r.seq)]));
    if ([...needed].every(([stream, seq]) => (applied.get(stream) ?? -1) >= seq)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, Math.max(1, deadline - Date.now()))));
  }
}
