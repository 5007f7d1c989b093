import type { Bus } from "@kasmap/bus";
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
