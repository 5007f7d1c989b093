/** FNV-1a, 32 bits: the offset basis and prime of the specification (draft-eastlake-fnv). */
const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** The most partitions a partitioned consumer may have (`KASMAP_PROJECTION_PARTITIONS`). */
export const MAX_PARTITIONS = 64;

/**
 * The partition, in `[0, count)`, of a subject token: FNV-1a (32 bits) of its UTF-8 bytes modulo
 * `count` — the hash nats-server's subject-mapping function `partition(count, n)` computes for
 * one wildcard token, so a server-side mapping would put every agent in the same partition.
 */
export function partitionOfToken(token: string, count: number): number {
  if (!Number.isSafeInteger(count) || count < 1)
    throw new RangeError(`partition count must be ≥ 1, got ${count}`);
  let hash = FNV_OFFSET_BASIS;
  for (const byte of new TextEncoder().encode(token)) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME) >>> 0;
  }
  return hash % count;
}

/**
 * The partition of a message of an agent-scoped stream, by its subject
 * `<root>.cluster.<agentId>.…` (the root is one token): `partitionOfToken` of the agent token.
 * A subject without one (malformed: its consumer dead-letters it) is partition 0's, so every
 * message has exactly one owner.
 */
export function partitionOfAgentSubject(subject: string, count: number): number {
  const agentToken = agentTokenOfSubject(subject);
  return agentToken === undefined ? 0 : partitionOfToken(agentToken, count);
}

/** The agent token of a subject `<root>.cluster.<agentId>.…` (the root is one token), if it has one. */
export function agentTokenOfSubject(subject: string): string | undefined {
  const agentToken = subject.split(".", 3)[2];
  return agentToken === "" ? undefined : agentToken;
}

const AGENT_ID_TOKEN = /^[1-9]\d{0,14}$/;

/** The agent id a collector subject names (`agentTokenOfSubject`, a positive decimal), if it names one. */
export function agentIdOfSubject(subject: string): number | undefined {
  const token = agentTokenOfSubject(subject);
  return token !== undefined && AGENT_ID_TOKEN.test(token) ? Number(token) : undefined;
}

/** `partitionOfToken` of an agent id as its subjects carry it (decimal). */
export function partitionOfAgent(agentId: number, count: number): number {
  return partitionOfToken(String(agentId), count);
}
