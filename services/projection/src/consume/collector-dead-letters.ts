import type { DeadLetterBudget } from "@kasmap/bus";
import { agentIdOfSubject } from "../partitions/agent-partition.ts";
import { DEFAULT_DEAD_LETTER_HEAD_BYTES_PER_MINUTE } from "../projection-env.ts";
import { AgentRateLimiter } from "./agent-rate-limiter.ts";

/**
 * The cluster and heartbeat consumers' dead-letter budget (`deadLetterBudget` of the checkpointed
 * consumer): a message's writer is the agent of its subject (a collector may publish only on its
 * own agent's subjects); each agent may have `perMinute` dead letters of its own in any 60 s of
 * server time (`KASMAP_PROJECTION_DEAD_LETTERS_PER_MINUTE`), decided by
 * stream sequence like its rate limits (`AgentRateLimiter`), so a batch read again answers the
 * same. One cluster's stolen credentials flooding its subjects then cost the consumer its budget,
 * one dead letter opening its summary window and one summary a minute (`DeadLetterSummaries` in
 * libs/bus), rather than a dead letter per message. Of those, the ones that keep the message's
 * head (up to 4 KiB each) hold at most `headBytesPerMinute` of heads per agent in any 60 s
 * (`KASMAP_PROJECTION_DEAD_LETTER_HEAD_BYTES_PER_MINUTE`; `DeadLetterHeadBudget` in libs/bus).
 */
export function collectorDeadLetterBudget(
  perMinute: number,
  headBytesPerMinute: number = DEFAULT_DEAD_LETTER_HEAD_BYTES_PER_MINUTE,
): DeadLetterBudget {
  const limiter = new AgentRateLimiter(perMinute, "dead letters");
  return {
    writerOf(subject) {
      const agentId = agentIdOfSubject(subject);
      return agentId === undefined ? undefined : `agent ${agentId}`;
    },
    admit(meta) {
      const agentId = agentIdOfSubject(meta.subject);
      return agentId === undefined || limiter.admit(agentId, meta.seq, meta.storedAt);
    },
    headBytesPerMinute,
  };
}
