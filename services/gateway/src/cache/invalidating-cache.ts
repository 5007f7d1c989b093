/**
 * An in-process cache whose entries depend on read-model tables. A change notice for a table
 * drops every cache that depends on it.
 *
 * Correctness rule: an entry must never outlive a notice for it. A load that started before a
 * notice may have read the old row, so each load remembers the cache's generation when it
 * began and stores its value only if no `clear()` happened in between. While the change-notice
 * subscription is down (NATS disconnected) caching is switched off, since notices would be lost.
 */
export class InvalidatingCache<K, V> {
  private readonly entries = new Map<K, V>();
  private generation = 0;
  hits = 0;
  misses = 0;

  constructor(
    readonly name: string,
    /** Read-model tables (without the `read_model.` schema) whose changes drop this cache. */
    readonly tables: readonly string[],
    private readonly isEnabled: () => boolean,
    private readonly maxEntries = 10_000,
  ) {}

  async get(key: K, load: () => Promise<V>): Promise<V> {
    if (this.entries.has(key)) {
      this.hits += 1;
      return this.entries.get(key) as V;
    }
    this.misses += 1;
    const startedAt = this.generation;
    const value = await load();
    if (startedAt === this.generation && this.isEnabled()) this.store(key, value);
    return value;
  }

  clear(): void {
    this.generation += 1;
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private store(key: K, value: V): void {
    // Maps iterate in insertion order: dropping the first key evicts the oldest entry.
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, value);
  }
}
