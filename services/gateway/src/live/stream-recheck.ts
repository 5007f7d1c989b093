import { isKasmapError } from "@kasmap/contracts";
import type { AuthenticatedUser } from "../auth/authenticate.ts";
import { seesEventsAlike } from "../permissions/event-visibility.ts";

/**
 * Why a credential re-check ends an open live stream. The text is the stream's last frame, an
 * SSE comment (`: kasmap live events ended: <text>`); the code is logged.
 */
export const STREAM_END_REASONS = {
  credential_refused: "the credential was refused (revoked or expired token, blocked user)",
  principal_changed:
    "the caller's identity or administrator status changed; reconnect to receive the events now visible",
  credential_unconfirmed: "the credential could not be confirmed (GitLab or the database did not answer)",
} as const;

export type StreamEndReason = keyof typeof STREAM_END_REASONS;

/** What a re-check of a stream's credential found: the caller now, or why there is none. */
export type RecheckOutcome = { accepted: AuthenticatedUser } | { failed: unknown };

/**
 * Whether an open stream goes on after a re-check of its credential (null) or ends, and why:
 * - the caller accepted and the same for visibility (`seesEventsAlike`) → goes on;
 * - accepted but changed (a GitLab admin demoted or promoted) → `principal_changed`: the stream
 *   was filtered for the caller as they were. The client reconnects (with `Last-Event-ID`) and
 *   gets what it may see now;
 * - refused (a `KasmapError`: 401, 403) → `credential_refused`;
 * - anything else, an outage among it → `credential_unconfirmed`. In GitLab mode the token's
 *   answer is cached for the permission TTL and GitLab is asked, without retrying, only once it
 *   expired: an outage here means GitLab's last yes is older than the TTL, when every other
 *   request is answered 503. The stream stops there too (within TTL + `CREDENTIAL_RECHECK_MS` of
 *   a revocation) instead of delivering on a stale yes — an admin's everything included.
 *   Standalone, a database error ended the stream already (it never was a `KasmapError`).
 */
export function streamEndAfterRecheck(
  streamUser: AuthenticatedUser,
  outcome: RecheckOutcome,
): StreamEndReason | null {
  if ("accepted" in outcome)
    return seesEventsAlike(streamUser, outcome.accepted) ? null : "principal_changed";
  const { failed } = outcome;
  const outage = isKasmapError(failed, "unavailable") || isKasmapError(failed, "unavailable_because");
  return isKasmapError(failed) && !outage ? "credential_refused" : "credential_unconfirmed";
}
