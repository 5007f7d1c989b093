import type { Stamp } from "./invalidating-cache.ts";

/** What a body was rendered from and until when it holds. */
type Rendered = {
  readonly parts: readonly unknown[];
  readonly validUntil: number;
  readonly body: Buffer;
  readonly bytes: number;
  readonly stamp: Stamp;
};

/** A body with its stamp: live while this very body is the stored one (`bodyIf`). */
export type StampedBody = { readonly body: Buffer; readonly stamp: Stamp };

/** Bytes counted per entry beyond its body (the entry, its parts array, the map slot). */
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
   * The body for `key` rendered from `parts` at `nowMs`, with its stamp: the stored one if it was
   * rendered from the same objects and is still valid at `nowMs`, else `render()`'s (stored for
   * next time; its stamp is never live if it could not be stored).
   */
  get(
    key: K,
    parts: readonly unknown[],
    nowMs: number,
    render: () => { body: Buffer; validUntil: number },
  ): StampedBody {
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      if (nowMs < entry.validUntil && sameParts(entry.parts, parts)) {
        this.hits += 1;
        return entry;
      }
      this.remove(key, entry);
    }
    this.misses += 1;
    const { body, validUntil } = render();
    const stamp = { live: false, usableUntil: validUntil };
    if (this.options.isEnabled() && nowMs < validUntil)
      return this.store(key, { parts, validUntil, body, stamp });
    return { body, stamp };
  }

  /**
   * The stored body of `key` if it is still the one `stamp` was given with and valid at `nowMs`
   * (no rendering, no hit counted: the caller counts its own).
   */
  bodyIf(key: K, stamp: Stamp, nowMs: number): Buffer | undefined {
    const entry = this.entries.get(key);
    return entry !== undefined && entry.stamp === stamp && stamp.live && nowMs < entry.validUntil
      ? entry.body
      : undefined;
  }

  /** Drops `key`'s body (not needed for correctness: a changed part never matches). */
  dropKey(key: K): void {
    const entry = this.entries.get(key);
    if (entry) this.remove(key, entry);
  }

  clear(): void {
    for (const entry of this.entries.values()) entry.stamp.live = false;
    this.entries.clear();
    this.totalBytes = 0;
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  private store(key: K, rendered: Omit<Rendered, "bytes">): Rendered {
    const bytes = rendered.body.length + ENTRY_OVERHEAD_BYTES;
    const entry = { ...rendered, bytes };
    if (bytes > this.options.maxBytes) return entry;
    for (const [oldestKey, oldest] of this.entries) {
      if (this.totalBytes + bytes <= this.options.maxBytes) break;
      this.remove(oldestKey, oldest);
    }
    rendered.stamp.live = true;
    this.entries.set(key, entry);
    this.totalBytes += bytes;
    return entry;
  }

  private remove(key: K, entry: Rendered): void {
    entry.stamp.live = false;
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
  }
}

function sameParts(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
