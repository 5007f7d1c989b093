/** The window a writer's bytes of heads are counted in (milliseconds of server time). */
export const DEAD_LETTER_HEAD_WINDOW_MS = 60_000;
/**
 * Most writers whose heads `DeadLetterHeadBudget` remembers at once. Beyond it, once those whose
 * window emptied are forgotten, a further writer's dead letters keep no head: memory stays
 * bounded however many writers flood together, and only the heads (never a dead letter, a
 * reason or a count) are given up.
 */
export const DEAD_LETTER_HEAD_WRITERS = 10_000;

type Admitted = { seq: number; at: number; bytes: number };

type WriterHeads = {
  /** The heads admitted in the window (and any later in the stream than the last asked). */
  admitted: Admitted[];
  /** The highest sequence decided: a lower one not among `admitted` was refused. */
  highestDecided: number;
};

/**
 * Each writer's bytes of dead-letter heads (`head_base64`, counted before base64) in any window
 * of `windowMs` of server time (the JetStream timestamps, which a writer cannot choose): a
 * writer's dead letters keep their head while the heads they kept in the window and this one
 * come to at most `bytesPerWindow`; beyond, they keep none (`head_omitted: "budget"`). A flood
 * of large refused messages then costs the dead-letter stream at most `bytesPerWindow` of heads
 * per writer a window, whatever the writer's dead-letter budget.
 *
 * Decided by stream sequence, like `AgentRateLimiter` in the projection, so a batch read again
 * after a restart from the checkpoint answers the same: an admitted sequence is still in the
 * window; a refused one is below the writer's highest decided sequence. The state lives in
 * memory: after a process restart a writer starts afresh, which only errs on the lenient side.
 */
export class DeadLetterHeadBudget {
  private readonly writers = new Map<string, WriterHeads>();
  private prunedAt = Number.NEGATIVE_INFINITY;
  private readonly windowMs: number;
  private readonly maxWriters: number;
  private readonly bytesPerWindow: number;

  constructor(limits: { bytesPerWindow: number; windowMs?: number; maxWriters?: number }) {
    this.bytesPerWindow = limits.bytesPerWindow;
    this.windowMs = limits.windowMs ?? DEAD_LETTER_HEAD_WINDOW_MS;
    this.maxWriters = limits.maxWriters ?? DEAD_LETTER_HEAD_WRITERS;
  }

  /** How many writers are remembered. */
  get writerCount(): number {
    return this.writers.size;
  }

  /**
   * Whether `writer`'s dead letter of the message at `seq`, stored at `storedAt`, keeps its head
   * of `bytes` bytes. An empty head costs nothing and is always kept. All or nothing: a head
   * that does not fit whole is left out, never cut shorter than `DEAD_LETTER_HEAD_BYTES`.
   */
  admit(writer: string, seq: number, storedAt: Date, bytes: number): boolean {
    if (bytes === 0) return true;
    const at = storedAt.getTime();
    if (at - this.prunedAt >= this.windowMs) this.prune(storedAt);
    const heads = this.headsOf(writer, storedAt);
    if (heads === undefined) return false;
    const since = at - this.windowMs;
    let admittedBefore = false;
    let recent = 0;
    let left = 0;
    for (const entry of heads.admitted) {
      if (entry.seq === seq) admittedBefore = true;
      if (entry.at > since) {
        if (entry.seq < seq) recent += entry.bytes;
      } else if (entry.seq < seq) left += 1;
    }
    if (left > 0) heads.admitted = heads.admitted.filter((entry) => entry.at > since || entry.seq >= seq);
    if (admittedBefore) return true;
    if (seq <= heads.highestDecided) return false;
    heads.highestDecided = seq;
    if (recent + bytes > this.bytesPerWindow) return false;
    heads.admitted.push({ seq, at, bytes });
    return true;
  }

  /**
   * Forgets the writers with no head in the window at `now` (server time), so memory follows the
   * writers whose dead letters keep heads; `admit` calls it once a window, and when full.
   */
  prune(now: Date): void {
    this.prunedAt = now.getTime();
    const since = now.getTime() - this.windowMs;
    for (const [writer, heads] of this.writers) {
      if (heads.admitted.every((entry) => entry.at <= since)) this.writers.delete(writer);
    }
  }

  /** The writer's state, made if there is room (after forgetting the idle ones if need be). */
  private headsOf(writer: string, now: Date): WriterHeads | undefined {
    let heads = this.writers.get(writer);
    if (heads !== undefined) return heads;
    if (this.writers.size >= this.maxWriters) this.prune(now);
    if (this.writers.size >= this.maxWriters) return undefined;
    heads = { admitted: [], highestDecided: 0 };
    this.writers.set(writer, heads);
    return heads;
  }
}
