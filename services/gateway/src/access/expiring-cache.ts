import { approximateBytes } from "../cache/approximate-bytes.ts";

/** How many entries an `ExpiringCache` holds at most, and how many bytes (`approximateBytes`). */
export type ExpiringCacheBounds = { maxEntries: number; maxBytes: number };

/**
 * A cache bounded in entries and bytes whose entries expire a fixed time after they were stored: GitLab's answers
 * about a token (who holds it, its level on a project, the projects it sees) are kept at most
 * `ttlMs`, so a change in GitLab — a revoked token, a removed member — takes effect within it.
 *
 * Never widened: an entry is only ever replaced by a fresh answer after it expired, so a cached
 * denial stays a denial until its time is up, and a grant ends at its time whatever happens.
 * Concurrent loads of one key share one call to GitLab.
 */
export class ExpiringCache<K, V> {
  private readonly entries = new Map<K, { value: V; expiresAt: number; bytes: number }>();
  private readonly loading = new Map<K, Promise<V>>();
  private totalBytes = 0;

  constructor(
    /** How long an entry is served after it was stored, ms. */
    private readonly ttlMs: number,
    /** Storing past either bound evicts the oldest entries; a value larger than `maxBytes` is not stored. */
    private readonly bounds: ExpiringCacheBounds,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cached value while it is fresh, else `load()`'s (stored unless it throws). */
  async get(key: K, load: () => Promise<V>): Promise<V> {
    const fresh = this.peek(key);
    if (fresh !== undefined) return fresh.value;
    const pending = this.loading.get(key);
    if (pending) return pending;
    const loaded = (async () => {
      const value = await load();
      this.store(key, value);
      return value;
    })();
    this.loading.set(key, loaded);
    try {
      return await loaded;
    } finally {
      this.loading.delete(key);
    }
  }

  /** The entry while it is fresh; an expired one is dropped. */
  peek(key: K): { value: V } | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > this.now()) return entry;
    this.remove(key);
    return undefined;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The entries' approximate size, bytes. */
  get bytes(): number {
    return this.totalBytes;
  }

  private store(key: K, value: V): void {
    this.remove(key);
    const bytes = approximateBytes(key) + approximateBytes(value) + 64;
    if (bytes > this.bounds.maxBytes) return;
    // Maps iterate in insertion order: the first key is the oldest entry.
    for (const oldest of this.entries.keys()) {
      if (this.entries.size < this.bounds.maxEntries && this.totalBytes + bytes <= this.bounds.maxBytes)
        break;
      this.remove(oldest);
    }
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs, bytes });
    this.totalBytes += bytes;
  }

  private remove(key: K): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
  }
}
