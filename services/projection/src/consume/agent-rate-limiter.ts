import { SeqWindowBudget } from "@kasmap/bus";

/**
 * At most `perMinute` events of one kind per agent in any 60 s window of server time (the
 * JetStream timestamps, not the collector's clock): snapshots for the cluster consumer (issue
 * 7.6 c), heartbeats for the heartbeat consumer, dead letters of either. nats-server 2.9 has no
 * per-publisher quota, so the consumer enforces one.
 *
 * Decided by stream sequence (`SeqWindowBudget`, one event weighing 1), so it is safe to ask
 * twice: a batch read again after a restart from the checkpoint gets the same answers. The
 * window lives in memory: after a process restart an agent starts with an empty window, which
 * only errs on the lenient side.
 */
export class AgentRateLimiter {
  private readonly budget: SeqWindowBudget<number>;

  /** `what` names the events in refusals: "snapshots", "heartbeats". */
  constructor(
    private readonly perMinute: number,
    private readonly what: string,
  ) {
    this.budget = new SeqWindowBudget({ perWindow: perMinute });
  }

  /** The dead letter's reason for an event `admit` refused. */
  refusal(agentId: number): string {
    return `agent ${agentId} is over the rate limit of ${this.perMinute} ${this.what} per minute`;
  }

  /** Whether the agent's event at stream sequence `seq`, stored at `storedAt`, may apply. */
  admit(agentId: number, seq: number, storedAt: Date): boolean {
    return this.budget.admit(agentId, seq, storedAt, 1);
  }
}
