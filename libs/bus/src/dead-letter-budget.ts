import { DEAD_LETTER_MORE_SEQS } from "@kasmap/contracts";
import type { JsMsg } from "@nats-io/jetstream";
import type { MessageMeta } from "./event-message.ts";

/**
 * A consumer's budget of dead letters per writer (`CheckpointedConsumerOptions.deadLetterBudget`):
 * `writerOf` names a message's writer from its subject (undefined: the message always gets a
 * dead letter of its own; the name groups summaries and appears in their reason); `admit`, asked
 * only for a message that has a writer, answers whether its writer's budget still holds a dead
 * letter for it, deciding by stream sequence so that a batch read again answers the same.
 */
export type DeadLetterBudget = {
  writerOf(subject: string): string | undefined;
  admit(meta: MessageMeta): boolean;
};

/** A message refused by validation or by the screen, and why. */
export type Letter = { message: JsMsg; meta: MessageMeta; reason: string };

/** A dead letter to store: one refused message, or the first of a writer's over its budget and the rest's sequences. */
export type LetterToStore = Letter & { moreSeqs?: number[] };

/**
 * `letters` (in stream order) as the dead letters to store: each its own while its writer's
 * budget admits it; the rest of each writer as summaries headed by their first message (at most
 * `DEAD_LETTER_MORE_SEQS` further sequences each), in the place of that first message. A summary
 * of one message is that message's own dead letter.
 */
export function withinBudget(
  letters: readonly Letter[],
  budget: DeadLetterBudget | undefined,
): LetterToStore[] {
  if (budget === undefined) return [...letters];
  const stored: Array<{ letter: Letter; writer?: string; moreSeqs: number[] }> = [];
  const openSummary = new Map<string, { moreSeqs: number[] }>();
  for (const letter of letters) {
    const writer = budget.writerOf(letter.meta.subject);
    if (writer === undefined || budget.admit(letter.meta)) {
      stored.push({ letter, moreSeqs: [] });
      continue;
    }
    const summary = openSummary.get(writer);
    if (summary !== undefined && summary.moreSeqs.length < DEAD_LETTER_MORE_SEQS) {
      summary.moreSeqs.push(letter.meta.seq);
      continue;
    }
    const next = { letter, writer, moreSeqs: [] };
    openSummary.set(writer, next);
    stored.push(next);
  }
  return stored.map(({ letter, writer, moreSeqs }) =>
    moreSeqs.length === 0
      ? letter
      : {
          ...letter,
          moreSeqs,
          reason:
            `${moreSeqs.length + 1} messages of ${writer} refused beyond its dead-letter budget ` +
            `(this one and more_seqs); this one: ${letter.reason}`,
        },
  );
}
