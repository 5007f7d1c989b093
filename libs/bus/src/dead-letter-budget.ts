import type { DeadLetterHeadOmission } from "@kasmap/contracts";
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
  /**
   * Bytes of message heads (`head_base64`, before base64: up to `DEAD_LETTER_HEAD_BYTES` a dead
   * letter) each writer's dead letters may keep in any 60 s of server time
   * (`DeadLetterHeadBudget`); beyond, they keep reason, position, size and digest but no head
   * (`head_omitted: "budget"`). Counts the dead letters of its own, the one opening its summary
   * window and the summaries. @default every dead letter keeps its head
   */
  headBytesPerMinute?: number;
};

/** A message refused by validation or by the screen, and why. */
export type Letter = { message: JsMsg; meta: MessageMeta; reason: string };

/**
 * A dead letter to store: one refused message; or the one that opens its writer's summary
 * window (`writer` alone); or a summary, headed by its first message (`writer` and `summarized`).
 * `headOmitted`: it keeps no head of the message (its writer's heads are over budget).
 */
export type LetterToStore = Letter & {
  writer?: string;
  summarized?: SummarizedMessages;
  headOmitted?: DeadLetterHeadOmission;
};
