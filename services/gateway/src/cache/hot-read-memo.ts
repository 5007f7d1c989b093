import type { Stamp } from "./invalidating-cache.ts";

/** Bytes counted per remembered answer (entry, its stamps array, the map slot), and per caller. */
const ANSWER_BYTES = 96;
const STAMP_BYTES = 8;
const CALLER_BYTES = 96;

type Answer<V> = { readonly within: number; readonly value: V; readonly stamps: readonly Stamp[] };

export type HotReadMemoOptions = {
  /** Names the memo in metrics, e.g. `hot_agent_reads`. */
  name: string;
  /** False while change notices may be missed (NATS down): nothing is remembered then. */
  isEnabled: () => boolean;
  /** Upper bound of the remembered answers' approximate size, bytes. */
  maxBytes: number;
};

/**
 * The hot read's verdicts per (caller, resource within its parent — an agent in its project):
 * what a caller may read, remembered with the
 * stamps of every cached entry the verdict was decided from (principal, memberships, project,
 * agent, facts, connections, rendered body). An answer holds only while every stamp is live and
 * before its `usableUntil`, so it is never fresher or staler than deciding again from those
 * entries: a notice, a TTL expiry, a reload with another value or a cleared cache of any of them
 * ends it at once. It holds stamps and ids only, never a token, a row or a body.
 *
 * Keyed by the caller's principal key (`<kind>:<sha256 of token>`, as the principals cache) and
 * a numeric id; bounded in bytes, the callers remembered longest ago evicted first.
 */
export class HotReadMemo<V> {
  readonly name: string;
  private readonly callers = new Map<string, Map<number, Answer<V>>>();
  private totalBytes = 0;
  /** Reads answered from a remembered verdict. */
  hits = 0;
  /** Reads that had to decide again (nothing remembered, or no longer valid). */
  misses = 0;

  constructor(private readonly options: HotReadMemoOptions) {
    this.name = options.name;
  }

  /**
   * The remembered value for (`caller`, `id` within `within`) if every stamp is live at `nowMs`,
   * else undefined (counted as a miss).
   */
  get(caller: string, id: number, within: number, nowMs: number): V | undefined {
    const answer = this.callers.get(caller)?.get(id);
    if (answer === undefined || answer.within !== within) {
      this.misses += 1;
      return undefined;
    }
    const { stamps } = answer;
    for (let i = 0; i < stamps.length; i++) {
      const stamp = stamps[i] as Stamp;
      if (!stamp.live || !(nowMs < stamp.usableUntil)) {
        this.misses += 1;
        return undefined;
      }
      // The entry behind it is read through the verdict: kept fresh as if read itself (and if a
      // later stamp ends the verdict, deciding again reads the entry anyway).
      stamp.read = true;
    }
    this.hits += 1;
    return answer.value;
  }

  /**
   * Remembers `value` for (`caller`, `id` within `within`), valid while every one of `stamps` is
   * live and before its `usableUntil`. Nothing is kept while disabled or when a stamp is already
   * dead.
   */
  set(caller: string, id: number, within: number, value: V, stamps: readonly Stamp[]): void {
    if (!this.options.isEnabled()) return;
    if (!stamps.every((stamp) => stamp.live)) return;
    const bytes = answerBytes(stamps.length);
    let answers = this.callers.get(caller);
    if (answers === undefined) {
      const withCaller = callerBytes(caller) + bytes;
      if (!this.roomFor(withCaller)) return;
      answers = new Map();
      this.callers.set(caller, answers);
      this.totalBytes += withCaller - bytes;
    } else {
      const previous = answers.get(id);
      if (previous !== undefined) {
        answers.delete(id);
        this.totalBytes -= answerBytes(previous.stamps.length);
      }
      if (!this.roomFor(bytes, caller)) return;
    }
    answers.set(id, { within, value, stamps });
    this.totalBytes += bytes;
  }

  clear(): void {
    this.callers.clear();
    this.totalBytes = 0;
  }

  /** Remembered answers. */
  get size(): number {
    let size = 0;
    for (const answers of this.callers.values()) size += answers.size;
    return size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Evicts whole callers, oldest first (never `keep`), until `bytes` more fit; false if they cannot. */
  private roomFor(bytes: number, keep?: string): boolean {
    for (const [caller, answers] of this.callers) {
      if (this.totalBytes + bytes <= this.options.maxBytes) return true;
      if (caller === keep) continue;
      this.callers.delete(caller);
      this.totalBytes -= callerBytes(caller);
      for (const answer of answers.values()) this.totalBytes -= answerBytes(answer.stamps.length);
    }
    return this.totalBytes + bytes <= this.options.maxBytes;
  }
}

function answerBytes(stamps: number): number {
  return ANSWER_BYTES + STAMP_BYTES * stamps;
}

function callerBytes(caller: string): number {
  return CALLER_BYTES + 2 * caller.length;
}
