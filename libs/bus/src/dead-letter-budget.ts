import type { JsMsg } from "@nats-io/jetstream";
import type { SummarizedMessages } from "./dead-letter.ts";
import type { MessageMeta } from "./event-message.ts";

/**
 * A consumer's budget of dead letters per writer (`CheckpointedConsumerOptions.deadLetterBudget`):
 * `writerOf` names a message's writer from its subject (undefined: the message always gets a
 * dead letter of its own; the name groups summaries and appears in them); `admit`, asked
 * only for a refused message that has a writer, answers whether its writer's budget still holds
 * a dead letter for it, deciding by stream sequence so that a batch read again answers the same.
 */
export type DeadLetterBudget = {
  writerOf(subject: string): string | undefined;
  admit(meta: MessageMeta): boolean;
};

/** A message refused by validation or by the screen, and why. */
export type Letter = { message: JsMsg; meta: MessageMeta; reason: string };

/**
 * A dead letter to store: one refused message; or the one that opens its writer's summary
 * window (`writer` alone); or a summary, headed by its first message (`writer` and `summarized`).
 */
export type LetterToStore = Letter & { writer?: string; summarized?: SummarizedMessages };
