import { isDeepStrictEqual } from "node:util";
import { approximateBytes } from "./approximate-bytes.ts";

export type InvalidatingCacheOptions<K, V> = {
  /** Names the cache in metrics, e.g. `cluster_facts`. */
  name: string;
  /** False while change notices may be missed (NATS down): nothing is stored then. */
  isEnabled: () => boolean;
  /** Upper bound of the entries' approximate size (`approximateBytes` of key and value), bytes. */
  maxBytes: number;
  /** An entry is served at most this long after it was loaded, ms: the backstop for a lost notice. */
  ttlMs: number;
  /**
   * Each entry's lifetime is shortened by a random part of `ttlMs`, at most this fraction
   * (0 ≤ f < 1; default 0), so entries loaded together do not all expire together and send their
   * reloads to PostgreSQL in one burst. An entry is still never served longer than `ttlMs`.
   */
  ttlJitter?: number;
  /**
   * Refresh ahead: once this fraction of an entry's lifetime has passed (0 < f < 1; default:
   * never), a `get` still answers the entry and reloads it in the background, so an entry read
   * often is replaced before it expires instead of making a reader wait for PostgreSQL. `peek`
   * then answers nothing until a reload is under way, so the synchronous hot read hands one
   * request to `get` to start it. An entry is still never served longer than its lifetime, and
   * a notice still drops it (and refuses the reload's value) at once.
   */
  refreshAhead?: number;
  /**
   * The tags an entry answers to besides its key (`user:7`, `group:3`): `dropTag` drops every
   * entry carrying the tag. Default: none.
   */
  tagsOf?: (key: K, value: V) => readonly string[];
  /**
   * How an entry is reloaded without a reader (default: it is not). An entry read since it was
   * loaded is then reloaded in the background before its refresh time comes (`refreshDue`),
   * whether or not it is read again then, so an idle spell no longer lets the working set expire
   * together and come back as one burst of reloads that readers wait for; and at once when
   * `dropKey` drops it, so its next reader finds the changed row loaded or loading. A refresh
   * passes the value it holds (`stored`): a reload may answer it, the same object, when it
   * can tell the row has not changed more cheaply than by loading it; a drop passes none.
   */
  reload?: (key: K, stored?: V) => Promise<V>;
  now?: () => number;
};

/**
 * What an answer derived from a cached entry holds on to instead of the entry itself: `live`
 * turns false for good when the entry is dropped, replaced by another value or cleared, and the
 * entry is not served from `usableUntil` (ms since the epoch) on — a reload that finds the very
 * same value moves it later. A memo of such answers (`HotReadMemo`) is then exactly as fresh as
 * the entries it was built from, and keeps no dropped value alive.
 */
export type Stamp = {
  live: boolean;
  usableUntil: number;
  /**
   * A cache entry's stamp: whether the entry was read since it was stored or last renewed — by
   * `get` or `peekEntry`, or by an answer derived from it that was served again (`HotReadMemo`
   * marks the stamps of each verdict it answers). Entries read are the ones kept fresh without a
   * reader (`reload`).
   */
  read?: boolean;
};

/** A stored value with its stamp (`peekEntry`). */
export type StampedValue<V> = { readonly value: V; readonly stamp: Stamp };

type Entry<V> = {
  value: V;
  bytes: number;
  expiresAt: number;
  refreshAt: number;
  tags: readonly string[];
  stamp: Stamp;
};

/** Past this many remembered drops while loads are in flight, pending loads are all refused. */
const MAX_REMEMBERED_DROPS = 4_096;

/**
 * An in-process cache of read-model rows, invalidated per key (or per tag) by the projection's
 * change notices, bounded in bytes, with a TTL backstop for a notice that never arrives.
 *
 * Correctness rule: an entry must never outlive a notice for it. A load that started before a
 * drop of its key (or of one of its value's tags) may have read the old row, so each load
 * remembers the generation it began at and stores its value only if nothing it depends on was
 * dropped since. Concurrent loads of one key share one query. While the change-notice
 * subscription is down caching is switched off, since notices would be lost.
 */
export class InvalidatingCache<K extends string | number, V> {
  readonly name: string;
  private readonly entries = new Map<K, Entry<V>>();
  private readonly tagIndex = new Map<string, Set<K>>();
  private readonly loading = new Map<K, Promise<V>>();
  /** Generation of the latest drop of each key (`#<key>`) or tag, while loads are in flight. */
  private readonly droppedAt = new Map<string, number>();
  private generation = 0;
  private clearedAt = 0;
  private totalBytes = 0;
  /** Loads started and not yet settled (a dropped key's load leaves `loading` but still runs). */
  private inFlight = 0;
  /** Reads answered without a query of their own (a stored entry, or a load already under way). */
  hits = 0;
  /** Reads that started a query. */
  misses = 0;

  constructor(private readonly options: InvalidatingCacheOptions<K, V>) {
    this.name = options.name;
  }

  /**
   * The stored value of `key` if it is fresh (counted as a hit), else undefined without loading
   * anything: the hot read takes its parts synchronously when they are all cached. Values are
   * never undefined (a load answers null for "no such row").
   */
  peek(key: K): V | undefined {
    return this.peekEntry(key)?.value;
  }

  /** As `peek`, with the entry's stamp, for answers derived from it (`Stamp`). */
  peekEntry(key: K): StampedValue<V> | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    const now = this.now();
    if (entry.expiresAt <= now || (entry.refreshAt <= now && !this.loading.has(key))) return undefined;
    this.hits += 1;
    entry.stamp.read = true;
    return entry;
  }

  async get(key: K, load: () => Promise<V>): Promise<V> {
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      const now = this.now();
      if (entry.expiresAt > now) {
        this.hits += 1;
        entry.stamp.read = true;
        if (entry.refreshAt <= now && !this.loading.has(key)) {
          // Refreshed in the background; a failed reload leaves the entry to its expiry.
          this.startLoad(key, load).catch(() => {});
        }
        return entry.value;
      }
      this.remove(key, entry);
    }
    const pending = this.loading.get(key);
    if (pending) {
      // Answered by a query already under way: no read of its own goes to PostgreSQL.
      this.hits += 1;
      return pending;
    }
    this.misses += 1;
    return this.startLoad(key, load);
  }

  /**
   * Loads `key` once for every reader that asks meanwhile, and stores the value unless its key
   * or one of its tags was dropped (or the cache cleared) since the load began.
   */
  private startLoad(key: K, load: () => Promise<V>): Promise<V> {
    const startedAt = this.generation;
    this.inFlight += 1;
    const settle = () => {
      if (this.loading.get(key) === loaded) this.loading.delete(key);
      this.inFlight -= 1;
    };
    const loaded = load().then(
      (value) => {
        settle();
        if (this.options.isEnabled() && this.unchangedSince(startedAt, key, value)) this.store(key, value);
        if (this.inFlight === 0) this.droppedAt.clear();
        return value;
      },
      (error: unknown) => {
        settle();
        throw error;
      },
    );
    this.loading.set(key, loaded);
    return loaded;
  }

  /**
   * Starts background reloads (`reload`) of the entries read since they were loaded whose refresh
   * time falls before `withinMs` from now, unless one is under way; a reload that finds the same
   * row renews the entry (and clears its read mark), another row replaces it. Returns how many
   * reloads it started. Called on a timer (the gateway: every second, `withinMs` a little more).
   */
  refreshDue(withinMs: number): number {
    const reload = this.options.reload;
    if (reload === undefined || !this.options.isEnabled()) return 0;
    const now = this.now();
    let started = 0;
    for (const [key, entry] of this.entries) {
      if (!entry.stamp.read || entry.refreshAt > now + withinMs || entry.expiresAt <= now) continue;
      if (this.loading.has(key)) continue;
      started += 1;
      this.startLoad(key, () => reload(key, entry.value)).catch(() => {});
    }
    return started;
  }

  /** Drops `key`'s entry, and any load of it in flight may not store its value. */
  dropKey(key: K): void {
    this.generation += 1;
    const entry = this.entries.get(key);
    if (entry) this.remove(key, entry);
    this.loading.delete(key);
    if (this.inFlight > 0) this.rememberDrop(`#${key}`);
    // An entry read since its load is loaded again now, after the drop (so it reads the change),
    // rather than by the next reader, who would wait for it (a heartbeat drops an agent's
    // connections every 30 s while its readers keep reading).
    const reload = this.options.reload;
    if (entry?.stamp.read && reload !== undefined && this.options.isEnabled()) {
      this.startLoad(key, () => reload(key)).catch(() => {});
    }
  }

  /** Drops every entry tagged `tag` (see `tagsOf`), and loads in flight carrying it. */
  dropTag(tag: string): void {
    this.generation += 1;
    const keys = this.tagIndex.get(tag);
    if (keys) {
      for (const key of [...keys]) {
        const entry = this.entries.get(key);
        if (entry) this.remove(key, entry);
      }
    }
    if (this.inFlight > 0) this.rememberDrop(tag);
  }

  clear(): void {
    this.generation += 1;
    this.clearedAt = this.generation;
    for (const entry of this.entries.values()) entry.stamp.live = false;
    this.entries.clear();
    this.tagIndex.clear();
    this.loading.clear();
    this.droppedAt.clear();
    this.totalBytes = 0;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The entries' approximate size, bytes (bounded by `maxBytes`). */
  get bytes(): number {
    return this.totalBytes;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private rememberDrop(name: string): void {
    if (this.droppedAt.size >= MAX_REMEMBERED_DROPS) {
      // Too many to track: refuse every pending load, as a clear would.
      this.clearedAt = this.generation;
      this.droppedAt.clear();
      return;
    }
    this.droppedAt.set(name, this.generation);
  }

  private unchangedSince(startedAt: number, key: K, value: V): boolean {
    if (startedAt === this.generation) return true;
    if (this.clearedAt > startedAt) return false;
    if ((this.droppedAt.get(`#${key}`) ?? 0) > startedAt) return false;
    for (const tag of this.tagsOf(key, value)) {
      if ((this.droppedAt.get(tag) ?? 0) > startedAt) return false;
    }
    return true;
  }

  private tagsOf(key: K, value: V): readonly string[] {
    return this.options.tagsOf?.(key, value) ?? [];
  }

  private store(key: K, value: V): void {
    const previous = this.entries.get(key);
    if (previous && isDeepStrictEqual(previous.value, value)) {
      // A reload (refresh ahead, or a load racing another) found the same row: the entry lives
      // on as if stored now, and what was derived from it (rendered bodies, hot-read verdicts)
      // stays valid — a refresh changes nothing a reader could see.
      this.renew(previous);
      return;
    }
    if (previous) this.remove(key, previous);
    const tags = this.tagsOf(key, value);
    const bytes = approximateBytes(key) + approximateBytes(value) + 64 * (1 + tags.length);
    if (bytes > this.options.maxBytes) return;
    // Maps iterate in insertion order: the first entries are the oldest.
    for (const [oldestKey, oldest] of this.entries) {
      if (this.totalBytes + bytes <= this.options.maxBytes) break;
      this.remove(oldestKey, oldest);
    }
    const entry = {
      value,
      bytes,
      expiresAt: 0,
      refreshAt: 0,
      tags,
      stamp: { live: true, usableUntil: 0, read: false },
    };
    this.renew(entry);
    this.entries.set(key, entry);
    this.totalBytes += bytes;
    for (const tag of tags) {
      let keys = this.tagIndex.get(tag);
      if (!keys) {
        keys = new Set();
        this.tagIndex.set(tag, keys);
      }
      keys.add(key);
    }
  }

  /** Starts `entry`'s lifetime now (with its jitter and refresh time). */
  private renew(entry: Entry<V>): void {
    const jitter = this.options.ttlJitter ? this.options.ttlJitter * Math.random() : 0;
    const lifetime = Math.round(this.options.ttlMs * (1 - jitter));
    const now = this.now();
    const refreshAhead = this.options.refreshAhead;
    entry.expiresAt = now + lifetime;
    entry.stamp.read = false;
    entry.refreshAt =
      refreshAhead === undefined ? Number.POSITIVE_INFINITY : now + Math.round(lifetime * refreshAhead);
    // Past `refreshAt` a peek answers only while a reload is in flight: a derived answer stops there.
    entry.stamp.usableUntil = Math.min(entry.refreshAt, entry.expiresAt);
  }

  private remove(key: K, entry: Entry<V>): void {
    entry.stamp.live = false;
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
    for (const tag of entry.tags) {
      const keys = this.tagIndex.get(tag);
      keys?.delete(key);
      if (keys?.size === 0) this.tagIndex.delete(tag);
    }
  }
}
