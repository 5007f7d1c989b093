import { digestToken } from "./tokens.ts";

/**
 * The subject token of one collector: the first hex digit of the SHA-256 of its `collector_id`,
 * one of {@link COLLECTOR_SUBJECT_TOKENS}. A `collector_id` is a pod name or a UUID, and a pod
 * name may contain dots, which NATS reads as token separators; a digest is always one NATS-safe
 * token.
 *
 * Why one digit, not the whole digest: the heartbeat stream keeps the latest message per
 * subject, so an agent's subjects bound what its heartbeats can hold in the stream. With 16
 * tokens (the NATS permission names each: `….heartbeat.0` … `….heartbeat.f`), a collector whose
 * credentials are stolen and that floods its heartbeat subjects keeps at most 17 messages stored,
 * whatever its rate: the server replaces the rest before the projection reads them, so the
 * projection is never more than those behind the other agents' heartbeats. With any token
 * allowed (`….heartbeat.*`) it kept one per invented collector: millions of subjects, a
 * projection minutes behind, every other agent shown disconnected. Two replicas of one agent
 * share a token 1 time in 16; each heartbeat is still applied while the projection keeps up (it
 * reads each before the other replica's next one replaces it, 30 s later).
 */
export function collectorSubjectToken(collectorId: string): string {
  return digestToken(collectorId).slice(0, 1);
}

/** Every token {@link collectorSubjectToken} returns: the hex digits. */
export const COLLECTOR_SUBJECT_TOKENS: readonly string[] = [..."0123456789abcdef"];

/**
 * A token a heartbeat subject may end with: one hex digit, or the first 32 of the digest, which
 * collectors before the one-digit tokens use (accepted while the NATS permissions rendered for
 * them, `….heartbeat.*`, are in force).
 */
export const COLLECTOR_SUBJECT_TOKEN_PATTERN = /^(?:[0-9a-f]|[0-9a-f]{32})$/;

/** Whether `token` (of {@link COLLECTOR_SUBJECT_TOKEN_PATTERN}) is `collectorId`'s, in either length. */
export function isCollectorSubjectToken(token: string, collectorId: string): boolean {
  return digestToken(collectorId).startsWith(token);
}
