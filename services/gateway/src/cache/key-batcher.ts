/** The most keys one batched query asks for; more keys wanted at once make more batches. */
const DEFAULT_MAX_BATCH = 256;

/** A `loadMany` answer for one key that failed on its own (its row does not parse, say). */
export class KeyLoadFailed {
  constructor(readonly error: unknown) {}
}

type Waiting<V> = { resolve: (value: V) => void; reject: (error: unknown) => void };

/**
 * Loads by key, in batches: the keys asked for during one turn of the event loop are loaded
 * together by one `loadMany` call when the turn's I/O callbacks are done (`setImmediate`), at
 * most `maxBatch` keys a call. A key asked for twice in a turn is loaded once; a key `loadMany`
 * does not answer gets `missing(key)` (the "no such row" value); a key it answers with
 * `KeyLoadFailed` is rejected with that error alone. A failed `loadMany` rejects every key of its
 * batch with its error.
 *
 * Why: the caches load one key per query. When many entries are missing at once (a burst of
 * reads after an idle spell, when their TTLs ran out together; a cold start) each read waited
 * for a round trip of its own through a pool of 8 connections, and a few thousand of them kept
 * the gateway's answers waiting for seconds. Each key still has a promise of its own, so the
 * caches' single-flight and drop rules see no difference.
 */
export class KeyBatcher<K, V> {
  private pending = new Map<K, Waiting<V>[]>();
  private scheduled = false;

  constructor(
    private readonly loadMany: (keys: readonly K[]) => Promise<ReadonlyMap<K, V | KeyLoadFailed>>,
    private readonly missing: (key: K) => V,
    private readonly maxBatch: number = DEFAULT_MAX_BATCH,
  ) {
    if (!(maxBatch >= 1)) throw new Error(`maxBatch must be at least 1, got ${maxBatch}`);
  }

  load(key: K): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      const waiting = this.pending.get(key);
      if (waiting) waiting.push({ resolve, reject });
      else this.pending.set(key, [{ resolve, reject }]);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    let batch: Array<[K, Waiting<V>[]]> = [];
    for (const entry of pending) {
      batch.push(entry);
      if (batch.length === this.maxBatch) {
        this.run(batch);
        batch = [];
      }
    }
    if (batch.length > 0) this.run(batch);
  }

  private run(batch: ReadonlyArray<[K, Waiting<V>[]]>): void {
    let loaded: Promise<ReadonlyMap<K, V | KeyLoadFailed>>;
    try {
      loaded = this.loadMany(batch.map(([key]) => key));
    } catch (error) {
      loaded = Promise.reject(error);
    }
    loaded.then(
      (values) => {
        for (const [key, waiting] of batch) {
          const value = values.has(key) ? (values.get(key) as V | KeyLoadFailed) : this.missing(key);
          if (value instanceof KeyLoadFailed) for (const { reject } of waiting) reject(value.error);
          else for (const { resolve } of waiting) resolve(value);
        }
      },
      (error: unknown) => {
        for (const [, waiting] of batch) for (const { reject } of waiting) reject(error);
      },
    );
  }
}
