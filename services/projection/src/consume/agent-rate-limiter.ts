const WINDOW_MS = 60_000;

/**
 * At most `perMinute` events of one kind per agent in any 60 s window of server time (the
 * JetStream timestamps, not the collector's clock): snapshots for the cluster consumer (issue
 * 7.6 c), heartbeats for the heartbeat consumer. nats-server 2.9 has no per-publisher quota, so
 * the consumer enforces one.
 *
 * Deciding by stream sequence makes it safe to ask twice: a batch read again after a restart
 * from the checkpoint gets the same answers (an admitted sequence is still in the window; a
 * refused one is below the agent's highest decided sequence). The window lives in memory: after
 * a process restart an agent starts with an empty window, which only errs on the lenient side.
 */
export class AgentRateLimiter {
  private readonly admitted = new Map<number, { seq: number; at: number }[]>();
  private readonly highestDecided = new Map<number, number>();

  /** `what` names the events in refusals: "snapshots", "heartbeats". */
  constructor(
    private readonly perMinute: number,
    private readonly what: string,
  ) {}

  /** The dead letter's reason for an event `admit` refused. */
  refusal(agentId: number): string {
    return `agent ${agentId} is over the rate limit of ${this.perMinute} ${this.what} per minute`;
  }

  /** Whether the agent's event at stream sequence `seq`, stored at `storedAt`, may apply. */
  admit(agentId: number, seq: number, storedAt: Date): boolean {
    const at = storedAt.getTime();
    const window = (this.admitted.get(agentId) ?? []).filter(
      (entry) => entry.at > at - WINDOW_MS || entry.seq >= seq,
    );
    this.admitted.set(agentId, window);
    if (window.some((entry) => entry.seq === seq)) return true;
    if (seq <= (this.highestDecided.get(agentId) ?? 0)) return false;
    this.highestDecided.set(agentId, seq);
    const recent = window.filter((entry) => entry.at > at - WINDOW_MS && entry.seq < seq);
    if (recent.length >= this.perMinute) return false;
    window.push({ seq, at });
    return true;
  }

  /** Forgets agents whose window is empty at `now` (server time), so memory follows active agents. */
  prune(now: Date): void {
    for (const [agentId, window] of this.admitted) {
      if (window.every((entry) => entry.at <= now.getTime() - WINDOW_MS)) {
        this.admitted.delete(agentId);
        this.highestDecided.delete(agentId);
      }
    }
  }
}
