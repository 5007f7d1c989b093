/** The window a budget counts in, by default (milliseconds of server time). */
export const SEQ_WINDOW_MS = 60_000;

type Admitted = { seq: number; at: number; weight: number };

type KeyWindow = {
  /** The entries admitted in the window (and any later in the stream than the last asked). */
  admitted: Admitted[];
  /** The highest sequence decided: a lower one not among `admitted` was refused. */
  highestDecided: number;
};

/**
 * At most `perWindow` of weight per key in any `windowMs` of server time (the JetStream
 * timestamps, which a publisher cannot choose): the projection's per-agent rate limits (weight 1
 * an event) and the dead letters' bytes of heads per writer (weight a head's bytes).
 *
 * Decided by stream sequence, so a batch read again after a restart from the checkpoint gets the
 * same answers: an admitted sequence is still in the window; a refused one is below the key's
 * highest decided sequence. One pass over the key's window, allocating only when entries have
 * left it: a key whose every message is refused (the window full and unchanged) costs no
 * garbage per message. Keys with nothing in the window are forgotten once a window of server
 * time has passed; with `maxKeys`, a key beyond that many (after forgetting the idle ones) is
 * refused, so memory stays bounded however many keys flood together. The state lives in memory:
 * after a process restart a key starts with an empty window, which only errs on the lenient side.
 */
export class SeqWindowBudget<K> {
  private readonly windows = new Map<K, KeyWindow>();
  private prunedAt = Number.NEGATIVE_INFINITY;
  private readonly perWindow: number;
  private readonly windowMs: number;
  private readonly maxKeys: number;

  constructor(limits: { perWindow: number; windowMs?: number; maxKeys?: number }) {
    this.perWindow = limits.perWindow;
    this.windowMs = limits.windowMs ?? SEQ_WINDOW_MS;
    this.maxKeys = limits.maxKeys ?? Number.POSITIVE_INFINITY;
  }

  /** How many keys are remembered. */
  get keyCount(): number {
    return this.windows.size;
  }

  /**
   * Whether `key`'s message at stream sequence `seq`, stored at `storedAt`, may take `weight`:
   * while the weight it took in the window and this one come to at most `perWindow`.
   */
  admit(key: K, seq: number, storedAt: Date, weight: number): boolean {
    const at = storedAt.getTime();
    if (at - this.prunedAt >= this.windowMs) this.prune(storedAt);
    const window = this.windowOf(key, storedAt);
    if (window === undefined) return false;
    const since = at - this.windowMs;
    let admittedBefore = false;
    let recent = 0;
    let left = 0;
    for (const entry of window.admitted) {
      if (entry.seq === seq) admittedBefore = true;
      if (entry.at > since) {
        if (entry.seq < seq) recent += entry.weight;
      } else if (entry.seq < seq) left += 1;
    }
    if (left > 0) window.admitted = window.admitted.filter((entry) => entry.at > since || entry.seq >= seq);
    if (admittedBefore) return true;
    if (seq <= window.highestDecided) return false;
    window.highestDecided = seq;
    if (recent + weight > this.perWindow) return false;
    window.admitted.push({ seq, at, weight });
    return true;
  }

  /** Forgets the keys with nothing in the window at `now` (server time); `admit` calls it once a window. */
  prune(now: Date): void {
    this.prunedAt = now.getTime();
    const since = now.getTime() - this.windowMs;
    for (const [key, window] of this.windows) {
      if (window.admitted.every((entry) => entry.at <= since)) this.windows.delete(key);
    }
  }

  /** The key's window, made if there is room (after forgetting the idle ones if need be). */
  private windowOf(key: K, now: Date): KeyWindow | undefined {
    let window = this.windows.get(key);
    if (window !== undefined) return window;
    if (this.windows.size >= this.maxKeys) this.prune(now);
    if (this.windows.size >= this.maxKeys) return undefined;
    window = { admitted: [], highestDecided: 0 };
    this.windows.set(key, window);
    return window;
  }
}
