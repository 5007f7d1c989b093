/** Agents whose grace one replica remembers at most; past it, the longest-known one is forgotten. */
export const DEFAULT_UNKNOWN_AGENT_GRACE_MAX_AGENTS = 10_000;

export type UnknownAgentGraceOptions = {
  /** How long an agent's events may wait, in milliseconds, from the first time one waited. */
  graceMs: number;
  /** @default DEFAULT_UNKNOWN_AGENT_GRACE_MAX_AGENTS */
  maxAgents?: number;
  /** Milliseconds since the epoch. @default Date.now */
  now?: () => number;
};

/**
 * The grace of the agents the read model does not know yet (or without a token yet), counted
 * per agent from the first time this replica saw one of its collector events wait — not from
 * each event's own time: a collector that keeps publishing (one new event every few seconds)
 * would otherwise always have an event young enough to wait, and hold back every agent behind it
 * for as long as it publishes. Once the grace is over, each later event of the agent is decided
 * at once, however young. Kept in memory only, for every consumer of the replica: a restart of
 * the replica (or another replica taking the agent's partition over) grants the agent one more
 * grace. `maxAgents` bounds the memory; an agent forgotten for room gets a grace again.
 */
export class UnknownAgentGrace {
  readonly graceMs: number;
  private readonly maxAgents: number;
  private readonly now: () => number;
  /** First time each agent waited, ms; in insertion order, so the first entry is the oldest. */
  private readonly firstWaited = new Map<number, number>();

  constructor(options: UnknownAgentGraceOptions) {
    this.graceMs = options.graceMs;
    this.maxAgents = options.maxAgents ?? DEFAULT_UNKNOWN_AGENT_GRACE_MAX_AGENTS;
    this.now = options.now ?? Date.now;
  }

  /**
   * Whether an event of an unknown agent, stored by the server at `storedAt`, may still wait:
   * it is younger than the grace and the agent's grace, which starts now if this is the first
   * time one of its events waits, is not over.
   */
  mayWait(agentId: number, storedAt: Date): boolean {
    const now = this.now();
    let since = this.firstWaited.get(agentId);
    if (since === undefined) {
      since = now;
      this.firstWaited.set(agentId, since);
      const oldest = this.firstWaited.keys().next().value;
      if (this.firstWaited.size > this.maxAgents && oldest !== undefined) this.firstWaited.delete(oldest);
    }
    return now - storedAt.getTime() < this.graceMs && now - since < this.graceMs;
  }

  /** The agent is known now (accepted, or refused for a reason of its own): its grace is done. */
  forget(agentId: number): void {
    this.firstWaited.delete(agentId);
  }

  /** Agents remembered. */
  get size(): number {
    return this.firstWaited.size;
  }
}
