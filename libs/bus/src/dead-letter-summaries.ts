import {
  DEAD_LETTER_HEAD_BYTES,
  DEAD_LETTER_HEAD_OMISSIONS,
  DEAD_LETTER_SEQ_RANGES,
  type DeadLetterSeqRange,
} from "@kasmap/contracts";
import type { DeadLetterBudget, Letter, LetterToStore } from "./dead-letter-budget.ts";
import { DeadLetterHeadBudget } from "./dead-letter-head-budget.ts";
import type { MessageMeta } from "./event-message.ts";

/**
 * How long (milliseconds of server time, from the JetStream timestamp of the message that opens
 * it) a writer's summary window lasts: a writer over its dead-letter budget costs one summary
 * per window, however fast it floods and however its messages fall into batches.
 */
export const DEAD_LETTER_SUMMARY_WINDOW_MS = 60_000;

/**
 * How long (milliseconds, wall clock) a consumer holding summaries may read nothing before it
 * stores them: a flood that stopped is summarized within about a second, not at its window's
 * end. A writer pausing to force summaries this way gets at most one a second.
 */
export const DEAD_LETTER_SUMMARY_IDLE_MS = 1_000;

type Summary = {
  /** Its first message: the summary dead letter describes it (digest, head, reason). */
  head: LetterToStore;
  ranges: DeadLetterSeqRange[];
  count: number;
  exact: boolean;
  /** A message of the writer that is not part of the summary came after the last range. */
  broken: boolean;
};

type SummaryWindow = {
  /** Server time (ms since the epoch) from which the writer's next message opens a new window. */
  endsAt: number;
  /** The messages summarized since the window opened or since the last summary was stored. */
  summary?: Summary;
};

/**
 * A consumer's summary windows (issue 12): which dead letters to store for a batch's refused
 * messages when each writer has a dead-letter budget. A refused message the budget admits gets
 * its own dead letter. The first one beyond it opens the writer's window: it gets a dead letter
 * of its own saying so (`writer`; should the process be killed before the window's summary is
 * stored, it still marks where the writer's unlisted messages begin). The writer's further
 * refused messages until the window ends are only remembered, as ranges of sequences, and
 * stored as one summary dead letter (`seq_ranges`) when the window ends (a later message shows
 * the server time past it), when the consumer has read nothing for a while
 * (`closeSummaries`), or when it restarts or stops (`closeWindows`). So a flood costs the
 * budget, one opening and about one summary per window, of a size bounded by
 * `DEAD_LETTER_SEQ_RANGES`, whatever its rate.
 *
 * A range is every message of the writer the consumer read in it: the messages of other writers
 * in between do not split it, only one of the writer's own that is not summarized (applied, or a
 * dead letter of its own). Past `DEAD_LETTER_SEQ_RANGES` ranges the last one grows over such
 * messages (`exact: false`); the count stays exact.
 *
 * With `headBytesPerMinute`, each writer's dead letters (its own, its openings, the first message
 * of its summaries) keep their heads while its `DeadLetterHeadBudget` holds them, decided in stream
 * order as they are sorted; beyond, they keep none (`headOmitted`).
 */
export class DeadLetterSummaries {
  private readonly windows = new Map<string, SummaryWindow>();
  /** Dead letters whose store failed: answered with the next ones. */
  private unstored: LetterToStore[] = [];
  private readonly heads: DeadLetterHeadBudget | undefined;

  constructor(
    private readonly budget: DeadLetterBudget,
    private readonly limits = { windowMs: DEAD_LETTER_SUMMARY_WINDOW_MS, maxRanges: DEAD_LETTER_SEQ_RANGES },
  ) {
    const bytesPerWindow = budget.headBytesPerMinute;
    this.heads = bytesPerWindow === undefined ? undefined : new DeadLetterHeadBudget({ bytesPerWindow });
  }

  /** Whether a summary is waiting to be stored (`closeSummaries` would answer some). */
  get holdsSummaries(): boolean {
    return this.unstored.length > 0 || [...this.windows.values()].some((w) => w.summary !== undefined);
  }

  /**
   * The dead letters to store for one batch, in stream order: `messages` are the batch's
   * messages the consumer decided (applied or refused) in stream order, `letters` the refused
   * ones among them, `now` the server time of the batch's last message. Asks the budget about
   * each refused message with a writer, in stream order. Answers the letters of their own, the
   * windows opened, the summaries whose window has ended, and those whose store failed before.
   */
  sortBatch(messages: readonly MessageMeta[], letters: readonly Letter[], now: Date): LetterToStore[] {
    const toStore = this.takeUnstored();
    const refused = new Map(letters.map((letter) => [letter.meta.seq, letter]));
    for (const meta of messages) {
      const letter = refused.get(meta.seq);
      refused.delete(meta.seq);
      const writer = this.budget.writerOf(meta.subject);
      if (writer === undefined) {
        if (letter !== undefined) toStore.push(letter);
        continue;
      }
      let window = this.windows.get(writer);
      if (window !== undefined && window.endsAt <= meta.storedAt.getTime()) {
        this.closeWindow(writer, toStore);
        window = undefined;
      }
      if (letter === undefined || this.budget.admit(meta)) {
        if (window?.summary) window.summary.broken = true;
        if (letter !== undefined) toStore.push(this.withHeadDecided(writer, letter));
      } else if (window === undefined) {
        const endsAt = meta.storedAt.getTime() + this.limits.windowMs;
        this.windows.set(writer, { endsAt });
        const reason = openingReason(writer, endsAt, letter.reason);
        toStore.push(this.withHeadDecided(writer, { ...letter, writer, reason }));
      } else if (window.summary === undefined) {
        const head = this.withHeadDecided(writer, letter);
        window.summary = { head, ranges: [], count: 0, exact: true, broken: false };
      } else this.summarize(window.summary, meta.seq);
    }
    // Not among `messages` (a caller's mistake): still each its own, never dropped.
    toStore.push(...refused.values());
    for (const [writer, window] of this.windows) {
      if (window.endsAt <= now.getTime()) this.closeWindow(writer, toStore);
    }
    return toStore.sort((a, b) => a.meta.seq - b.meta.seq);
  }

  /**
   * The summaries held (the consumer read nothing for a while), to store now; their windows stay
   * open, so the writer's next refused messages start another summary without another opening.
   */
  closeSummaries(): LetterToStore[] {
    const toStore = this.takeUnstored();
    for (const [writer, window] of this.windows) {
      if (window.summary !== undefined) toStore.push(summaryLetter(writer, window.summary));
      window.summary = undefined;
    }
    return toStore;
  }

  /**
   * Every summary held, to store now, and every window closed: the consumer restarts from its
   * checkpoint (it reads again what it summarized after it; those messages may then be in two
   * dead letters, never in none) or stops.
   */
  closeWindows(): LetterToStore[] {
    const toStore = this.closeSummaries();
    this.windows.clear();
    return toStore;
  }

  /**
   * Dead letters whose store failed, answered again by the next call: a summary stands for
   * messages that may be committed already. (The others are decided again when their batch is
   * read again; stored twice, their `Nats-Msg-Id` keeps one.)
   */
  requeue(letters: readonly LetterToStore[]): void {
    this.unstored.push(...letters);
  }

  /**
   * A dead letter stored on its own, outside a batch's (an event that could not be applied): with
   * its head only while its writer's heads are within budget, like the batch's. Decided by
   * sequence, so it keeps no head when the writer's later messages were decided already.
   */
  withHead(letter: Letter): LetterToStore {
    const writer = this.budget.writerOf(letter.meta.subject);
    return writer === undefined ? letter : this.withHeadDecided(writer, letter);
  }

  /** The letter, without its head if its writer's heads are over budget (`DeadLetterHeadBudget`). */
  private withHeadDecided(writer: string, letter: LetterToStore): LetterToStore {
    const { meta } = letter;
    const bytes = Math.min(meta.bytes, DEAD_LETTER_HEAD_BYTES);
    if (this.heads === undefined || this.heads.admit(writer, meta.seq, meta.storedAt, bytes)) return letter;
    return { ...letter, headOmitted: DEAD_LETTER_HEAD_OMISSIONS.budget };
  }

  private takeUnstored(): LetterToStore[] {
    const taken = this.unstored;
    this.unstored = [];
    return taken;
  }

  private closeWindow(writer: string, toStore: LetterToStore[]): void {
    const summary = this.windows.get(writer)?.summary;
    if (summary !== undefined) toStore.push(summaryLetter(writer, summary));
    this.windows.delete(writer);
  }

  private summarize(summary: Summary, seq: number): void {
    summary.count += 1;
    const last = summary.ranges.at(-1);
    if (last === undefined || (summary.broken && summary.ranges.length < this.limits.maxRanges)) {
      summary.ranges.push({ first: seq, last: seq });
    } else {
      if (summary.broken) summary.exact = false;
      last.last = seq;
    }
    summary.broken = false;
  }
}

/** The reason of the dead letter that opens a writer's window. */
function openingReason(writer: string, endsAt: number, reason: string): string {
  return (
    `${writer} is over its dead-letter budget: its further refused messages until ` +
    `${new Date(endsAt).toISOString()} are summarized (seq_ranges); this one: ${reason}`
  );
}

function summaryLetter(writer: string, summary: Summary): LetterToStore {
  const { head, ranges, count, exact } = summary;
  if (count === 0) return { ...head, writer };
  return {
    ...head,
    writer,
    summarized: { ranges, count, exact },
    reason:
      `${count + 1} messages of ${writer} refused beyond its dead-letter budget ` +
      `(this one and seq_ranges); this one: ${head.reason}`,
  };
}
