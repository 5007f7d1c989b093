import type { Bus } from "./bus.ts";
import { publishDeadLetter } from "./dead-letter.ts";
import type { DeadLetterBudget, Letter, LetterToStore } from "./dead-letter-budget.ts";
import { DEAD_LETTER_SUMMARY_IDLE_MS, DeadLetterSummaries } from "./dead-letter-summaries.ts";
import type { MessageMeta } from "./event-message.ts";

export type DeadLetterStoreOptions = {
  /** Names the consumer in its dead letters (`Nats-Msg-Id` `<stream>:<seq>:<consumer>`). */
  consumer: string;
  /** Each writer's budget of dead letters; without it, every refused message gets its own. */
  budget?: DeadLetterBudget;
  /** Called after each dead letter (or summary of them) is stored, for logs and metrics. */
  onDeadLettered?(meta: MessageMeta, reason: string): void;
};

/**
 * Where one checkpointed consumer's refused messages go (`publishDeadLetter`). With a
 * `DeadLetterBudget`, the writers over it are summarized (`DeadLetterSummaries`); the summary
 * windows live here, across the restarts of the consumer's loop, and are stored when the loop
 * restarts or stops (`storeHeldSummaries`) or goes idle (`storingSummariesWhenIdle`).
 */
export class DeadLetterStore {
  private readonly summaries: DeadLetterSummaries | undefined;

  constructor(
    private readonly bus: Bus,
    private readonly options: DeadLetterStoreOptions,
  ) {
    this.summaries = options.budget ? new DeadLetterSummaries(options.budget) : undefined;
  }

  /**
   * Dead-letters a batch's refused messages (`letters`, among the batch's decided `messages`; `now`
   * the server time of its last message) in stream order with their publishes in flight together
   * (their acks awaited at once), not one round trip each, and the messages of a writer over its
   * budget (`deadLetterBudget`) into its summary window (`DeadLetterSummaries`): a collector
   * flooding its subject with messages that are all refused must not cost the consumer a round
   * trip — or a publish, or bytes of the dead-letter stream — per message, or the backlog of every
   * agent behind it grows for as long as the flood lasts, and the stream with it. Fails if any
   * publish failed (after all have settled); the batch is then read again from the checkpoint,
   * and the letters already stored are deduplicated by their msgID.
   */
  async storeBatch(messages: readonly MessageMeta[], letters: Letter[], now: Date): Promise<void> {
    letters.sort((a, b) => a.meta.seq - b.meta.seq);
    const toStore = this.summaries ? this.summaries.sortBatch(messages, letters, now) : letters;
    await this.storeAll(toStore);
  }

  /**
   * Dead-letters one message on its own, whatever the budget of dead letters (an event that can
   * never be applied); with its head only while its writer's heads are within budget.
   */
  async storeOne(letter: Letter): Promise<void> {
    await this.store(this.summaries?.withHead(letter) ?? letter);
  }

  /**
   * Stores every summary held and closes every window: the loop restarts from its checkpoint (what
   * was summarized after it is read again) or stops.
   */
  async storeHeldSummaries(): Promise<void> {
    await this.storeAll(this.summaries?.closeWindows() ?? []);
  }

  /**
   * `next`, the next batch; should it not come within `DEAD_LETTER_SUMMARY_IDLE_MS` while summaries
   * are held, stores them meanwhile (a flood that stopped is summarized within about a second).
   */
  async storingSummariesWhenIdle<T>(next: Promise<T>): Promise<T> {
    const summaries = this.summaries;
    if (summaries === undefined || !summaries.holdsSummaries) return next;
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<"idle">((resolve) => {
      timer = setTimeout(() => resolve("idle"), DEAD_LETTER_SUMMARY_IDLE_MS);
    });
    try {
      if ((await Promise.race([next, idle])) !== "idle") return next;
    } finally {
      clearTimeout(timer);
    }
    // Awaited below; should the store fail, the consumer restarts and drops it unawaited.
    next.catch(() => {});
    await this.storeAll(summaries.closeSummaries());
    return next;
  }

  /**
   * Stores dead letters with their publishes in flight together. Fails if any failed (after all
   * have settled), handing the failed ones back to the summary windows to be stored again.
   */
  private async storeAll(letters: readonly LetterToStore[]): Promise<void> {
    if (letters.length === 0) return;
    const results = await Promise.allSettled(letters.map((letter) => this.store(letter)));
    const failed = letters.filter((_, i) => results[i]?.status === "rejected");
    if (failed.length === 0) return;
    this.summaries?.requeue(failed);
    const first = results.find((result) => result.status === "rejected");
    throw first?.reason;
  }

  private async store(letter: LetterToStore): Promise<void> {
    const { message, meta, reason, writer, summarized, headOmitted } = letter;
    await publishDeadLetter(this.bus, {
      stream: meta.stream,
      seq: meta.seq,
      subject: meta.subject,
      consumer: this.options.consumer,
      reason,
      storedAt: meta.storedAt,
      payload: message.data,
      ...(writer === undefined ? {} : { writer }),
      ...(summarized === undefined ? {} : { summarized }),
      ...(headOmitted === undefined ? {} : { headOmitted }),
    });
    this.options.onDeadLettered?.(meta, reason);
  }
}
