const WINDOW_MS = 60_000;
/** How often (wall clock) `admit` forgets the agents whose window has emptied. */
const PRUNE_EVERY_MS = 60_000;

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
  private prunedAt = Date.now();

  /** `what` names the events in refusals: "snapshots", "heartbeats". */
  constructor(
    private readonly perMinute: number,
    private readonly what: string,
  ) {}

  /** The dead letter's reason for an event `admit` refused. */
  refusal(agentId: number): string {
    return `agent ${agentId} is over the rate limit of ${this.perMinute} ${this.what} per minute`;
  }

  /**
   * Whether the agent's event at stream sequence `seq`, stored at `storedAt`, may apply. One pass
   * over the agent's window, allocating only when entries have left it: a flooding agent (every
   * event refused, the window full and unchanged) costs no garbage per event.
   */
  admit(agentId: number, seq: number, storedAt: Date): boolean {
    if (Date.now() - this.prunedAt > PRUNE_EVERY_MS) {
      this.prunedAt = Date.now();
      this.prune(storedAt);
    }
    const since = storedAt.getTime() - WINDOW_MS;
    let window = this.admitted.get(agentId);
    if (window === undefined) {
      window = [];
      this.admitted.set(agentId, window);
    }
    let admittedBefore = false;
    let recent = 0;
    let left = 0;
    for (const entry of window) {
      if (entry.seq === seq) admittedBefore = true;
      if (entry.at > since) {
        if (entry.seq < seq) recent += 1;
      } else if (entry.seq < seq) left += 1;
    }
    if (left > 0) {
      window = window.filter((entry) => entry.at > since || entry.seq >= seq);
      this.admitted.set(agentId, window);
    }
    if (admittedBefore) return true;
    if (seq <= (this.highestDecided.get(agentId) ?? 0)) return false;
    this.highestDecided.set(agentId, seq);
    if (recent >= this.perMinute) return false;
    window.push({ seq, at: storedAt.getTime() });
    return true;
  }

  /**
   * Forgets agents whose window is empty at `now` (server time), so memory follows active agents;
   * `admit` calls it every minute.
   */
  prune(now: Date): void {
    for (const [agentId, window] of this.admitted) {
      if (window.every((entry) => entry.at <= now.getTime() - WINDOW_MS)) {
        this.admitted.delete(agentId);
        this.highestDecided.delete(agentId);
      }
    }
  }
}
