import type { Bus, DeadLetterBudget } from "@kasmap/bus";
import type { StoredMsg } from "@nats-io/jetstream";

/**
 * Every message of the topology's dead-letter stream, oldest first (for assertions on reasons);
 * from `fromSeq` on, for a test that reads them as they come (each has its `seq`).
 */
export async function readDeadLetters(bus: Bus, fromSeq = 0): Promise<StoredMsg[]> {
  const name = bus.topology.streamNames.deadLetter;
  const info = await bus.jsm.streams.info(name);
  const letters: StoredMsg[] = [];
  const first = Math.max(info.state.first_seq, fromSeq);
  for (let seq = first; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const letter = await bus.jsm.streams.getMessage(name, { seq });
    if (letter) letters.push(letter);
  }
  return letters;
}

/**
 * A dead-letter budget for tests of the checkpointed consumer: each agent (the third token of the
 * subject) gets `own` dead letters of its own, decided by sequence (a message read again is
 * admitted again), and `headBytesPerMinute` of heads when given.
 */
export function agentDeadLetterBudget(own: number, headBytesPerMinute?: number): DeadLetterBudget {
  const spent = new Map<string, Set<number>>();
  const writerOf = (subject: string) => `agent ${subject.split(".")[2]}`;
  return {
    writerOf,
    admit(meta) {
      const writer = writerOf(meta.subject);
      const seqs = spent.get(writer) ?? new Set();
      spent.set(writer, seqs);
      if (seqs.has(meta.seq)) return true;
      if (seqs.size >= own) return false;
      seqs.add(meta.seq);
      return true;
    },
    ...(headBytesPerMinute === undefined ? {} : { headBytesPerMinute }),
  };
}
