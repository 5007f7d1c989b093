import { SEQ_WINDOW_MS, SeqWindowBudget } from "./seq-window-budget.ts";

/** The window a writer's bytes of heads are counted in (milliseconds of server time). */
export const DEAD_LETTER_HEAD_WINDOW_MS = SEQ_WINDOW_MS;
/**
 * Most writers whose heads `DeadLetterHeadBudget` remembers at once. Beyond it, once those whose
 * window emptied are forgotten, a further writer's dead letters keep no head: memory stays
 * bounded however many writers flood together, and only the heads (never a dead letter, a
 * reason or a count) are given up.
 */
export const DEAD_LETTER_HEAD_WRITERS = 10_000;

/**
 * Each writer's bytes of dead-letter heads (`head_base64`, counted before base64) in any window
 * of `windowMs` of server time (the JetStream timestamps, which a writer cannot choose): a
 * writer's dead letters keep their head while the heads they kept in the window and this one
 * come to at most `bytesPerWindow`; beyond, they keep none (`head_omitted: "budget"`). A flood
 * of large refused messages then costs the dead-letter stream at most `bytesPerWindow` of heads
 * per writer a window, whatever the writer's dead-letter budget.
 *
 * Decided by stream sequence (`SeqWindowBudget`, as the projection's rate limits), so a batch
 * read again after a restart from the checkpoint answers the same.
 */
export class DeadLetterHeadBudget {
  private readonly budget: SeqWindowBudget<string>;

  constructor(limits: { bytesPerWindow: number; windowMs?: number; maxWriters?: number }) {
    this.budget = new SeqWindowBudget({
      perWindow: limits.bytesPerWindow,
      windowMs: limits.windowMs ?? DEAD_LETTER_HEAD_WINDOW_MS,
      maxKeys: limits.maxWriters ?? DEAD_LETTER_HEAD_WRITERS,
    });
  }

  /** How many writers are remembered. */
  get writerCount(): number {
    return this.budget.keyCount;
  }

  /**
   * Whether `writer`'s dead letter of the message at `seq`, stored at `storedAt`, keeps its head
   * of `bytes` bytes. An empty head costs nothing and is always kept. All or nothing: a head
   * that does not fit whole is left out, never cut shorter than `DEAD_LETTER_HEAD_BYTES`.
   */
  admit(writer: string, seq: number, storedAt: Date, bytes: number): boolean {
    return bytes === 0 || this.budget.admit(writer, seq, storedAt, bytes);
  }

  /** Forgets the writers with no head in the window at `now` (server time). */
  prune(now: Date): void {
    this.budget.prune(now);
  }
}
