/** What a replica holds and sees in one lease round. */
export type LeaseRoundInput = {
  /** Every unit's lease key, in a fixed order all replicas share. */
  units: readonly number[];
  /** The keys this replica holds. */
  held: ReadonlySet<number>;
  /** Live replicas, this one included (each holds a presence lock); at least 1 is assumed. */
  liveReplicas: number;
  /** Where in `units` this replica starts trying, so replicas starting together rarely collide. */
  startAt: number;
};

export type LeasePlan = {
  /** This replica's fair share: ⌈units / live replicas⌉. */
  share: number;
  /** Held keys to give back (their consumers are stopped first), so others can take them. */
  release: number[];
  /** Keys to try, in order, until `acquire` of them were taken (the others hold the rest). */
  tryInOrder: number[];
  /** How many more keys this replica wants. */
  acquire: number;
};

/**
 * One round of the lease protocol, as a pure decision. Each replica aims at its fair share
 * ⌈units / live replicas⌉: above it, it releases its last keys (in unit order) for the others;
 * below it, it tries the free ones with `pg_try_advisory_lock` (the database decides who wins,
 * and a dead replica's locks are free as soon as its session is gone). Shares round up, so all
 * units are always wanted: with 8 units and 3 replicas, 3 + 3 + 2.
 */
export function planLeaseRound(input: LeaseRoundInput): LeasePlan {
  const { units, held } = input;
  const share = units.length === 0 ? 0 : Math.ceil(units.length / Math.max(1, input.liveReplicas));
  const heldInOrder = units.filter((key) => held.has(key));
  const release = heldInOrder.slice(share);
  const free = units.filter((key) => !held.has(key));
  const start = free.length === 0 ? 0 : ((input.startAt % free.length) + free.length) % free.length;
  return {
    share,
    release,
    tryInOrder: [...free.slice(start), ...free.slice(0, start)],
    acquire: Math.max(0, share - heldInOrder.length),
  };
}
