import { digestToken } from "./tokens.ts";

/**
 * The subject token of one collector: the first 32 hex characters (128 bits) of the SHA-256 of
 * its `collector_id`. A `collector_id` is a pod name or a UUID, and a pod name may contain dots,
 * which NATS reads as token separators; a digest is always one NATS-safe token.
 */
export function collectorSubjectToken(collectorId: string): string {
  // The SHA-256 hex digest `digestToken` gives (one-shot where Node has it): every heartbeat read
  // is checked against its token.
  return digestToken(collectorId).slice(0, COLLECTOR_TOKEN_LENGTH);
}

const COLLECTOR_TOKEN_LENGTH = 32;

/** What {@link collectorSubjectToken} returns, and nothing else. */
export const COLLECTOR_SUBJECT_TOKEN_PATTERN = /^[0-9a-f]{32}$/;
