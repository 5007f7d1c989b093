import type { Stamp } from "./invalidating-cache.ts";

/** What a body was rendered from and until when it holds. */
type Rendered = {
  readonly parts: readonly unknown[];
  readonly validUntil: number;
  readonly body: Buffer;
  readonly bytes: number;
  /**
   * The stamps of the cache entries the parts are the values of, when the renderer had them:
   * while all are live the parts are still the cached values, so the body is current without
   * looking the parts up (`current`).
   */
  partStamps: readonly Stamp[] | undefined;
};

/** Bytes counted per entry beyond its body (the entry, its parts and stamps arrays, the map slot). */
const ENTRY_OVERHEAD_BYTES = 160;

export type RenderedBodiesOptions = {
  /** Names the memo in metrics, e.g. `agent_read_bodies`. */
  name: string;
  /** False while change notices may be missed (NATS down): nothing is stored then. */
  isEnabled: () => boolean;
  /** Upper bound of the stored bodies' bytes (with a fixed overhead per entry). */
  maxBytes: number;
};

/**
 * Response bodies rendered from cached parts, as bytes ready for the socket, one per key. A body
 * is reused only while every part it was rendered from is the very object the caller holds now
 * (`===`: the parts come from the notice-invalidated caches, whose entries are never mutated, so
 * a notice or a TTL expiry of any part means a new object and a new rendering) and the clock is
 * before the time the renderer said its clock-dependent fields change. So it needs no notices of
 * its own and can never serve what its parts would not. The body must not depend on the caller:
 * permission checks come before it.
 *
 * Bounded in bytes: the oldest entries are evicted first (Maps iterate in insertion order).
 */
export class RenderedBodies<K extends string | number> {
  readonly name: string;
  private readonly entries = new Map<K, Rendered>();
  private totalBytes = 0;
  /** Bodies served without rendering. */
  hits = 0;
  /** Bodies rendered. */
  misses = 0;

  constructor(private readonly options: RenderedBodiesOptions) {
    this.name = options.name;
  }

  /**
   * The body for `key` rendered from `parts` at `nowMs`: the stored one if it was rendered from
   * the same objects and is still valid at `nowMs`, else `render()`'s (stored for next time).
   * `partStamps`, when given, are the stamps of the cache entries whose values `parts` are, in
   * any order: kept with the body so that `current` can serve it without the parts.
   */
  get(
    key: K,
    parts: readonly unknown[],
    nowMs: number,
    render: () => { body: Buffer; validUntil: number },
    partStamps?: readonly Stamp[],
  ): Buffer {
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      if (nowMs < entry.validUntil && sameParts(entry.parts, parts)) {
        this.hits += 1;
        // The same objects: the caller's stamps are those of the entries the body came from.
        if (partStamps !== undefined) entry.partStamps = partStamps;
        return entry.body;
      }
      this.remove(key, entry);
    }
    this.misses += 1;
    const { body, validUntil } = render();
    if (this.options.isEnabled() && nowMs < validUntil)
      this.store(key, { parts, validUntil, body, partStamps });
    return body;
  }

  /**
   * The stored body of `key` if it is current at `nowMs` without looking at its parts: it was
   * stored with the stamps of its parts' cache entries, every one of them is still live and
   * usable at `nowMs` (so each part is still the cached value), and the clock is before the
   * body's `validUntil`. Marks those entries read, as reading them would. Else undefined (then
   * look the parts up and `get`).
   */
  current(key: K, nowMs: number): Buffer | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || !(nowMs < entry.validUntil)) return undefined;
    const stamps = entry.partStamps;
    if (stamps === undefined) return undefined;
    for (let i = 0; i < stamps.length; i++) {
      const stamp = stamps[i] as Stamp;
      if (!stamp.live || !(nowMs < stamp.usableUntil)) return undefined;
      // Read through the body: kept fresh as if read itself (and if a later stamp is dead,
      // rendering again reads the entry anyway).
      stamp.read = true;
    }
    this.hits += 1;
    return entry.body;
  }

  /** Drops `key`'s body (not needed for correctness: a changed part never matches). */
  dropKey(key: K): void {
    const entry = this.entries.get(key);
    if (entry) this.remove(key, entry);
  }

  clear(): void {
    this.entries.clear();
    this.totalBytes = 0;
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  private store(key: K, rendered: Omit<Rendered, "bytes">): void {
    const bytes = rendered.body.length + ENTRY_OVERHEAD_BYTES;
    if (bytes > this.options.maxBytes) return;
    for (const [oldestKey, oldest] of this.entries) {
      if (this.totalBytes + bytes <= this.options.maxBytes) break;
      this.remove(oldestKey, oldest);
    }
    this.entries.set(key, { ...rendered, bytes });
    this.totalBytes += bytes;
  }

  private remove(key: K, entry: Rendered): void {
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
  }
}

function sameParts(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
