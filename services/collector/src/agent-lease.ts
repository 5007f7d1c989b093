import type { AuthzCommandResult } from "@kasmap/contracts";
import { KasmapError } from "@kasmap/contracts";
import type { Logger } from "@kasmap/logging";

export type AgentAuthentication = AuthzCommandResult<"agent_token.authenticate">;

/**
 * The collector's re-authentication lease (issue 9): the agent authz named for the token, and
 * whether the collector may publish for it now. authz's answer holds until its
 * `lease_expires_at`; the lease presents the token again halfway through what is left, so a
 * token revoked in GitLab (or in Kasmap) is refused at the next renewal and publishing stops.
 */
export type AgentLease = {
  readonly agentId: number;
  /** True while the last answer's lease runs: publish only then. */
  readonly current: boolean;
  /** Resolves with authz's refusal once a renewal was refused (401): stop for good. */
  readonly refused: Promise<KasmapError>;
  /** Stops renewing (the collector is stopping). */
  stop(): void;
};

export type AgentLeaseOptions = {
  /** Presents the token to authz (`agent_token.authenticate`); throws its refusal. */
  authenticate(): Promise<AgentAuthentication>;
  logger: Logger;
  /** Current time, ms since the epoch (tests move it). */
  now?: () => number;
};

/** A renewal is never sooner than this after the previous answer (ms). */
const MIN_RENEWAL_DELAY_MS = 500;
/** After a renewal that could not be answered (authz or GitLab away), try again within this (ms). */
const MAX_RETRY_DELAY_MS = 5_000;

/**
 * When to present the token again: halfway through what is left of the lease, at least
 * {@link MIN_RENEWAL_DELAY_MS}; after a failed try, a quarter of what is left, at most
 * {@link MAX_RETRY_DELAY_MS}. `null` when there is no lease (an authz from before leases).
 */
export function renewalDelayMs(expiresAt: number | null, now: number, afterFailure: boolean): number | null {
  if (expiresAt === null) return null;
  const left = expiresAt - now;
  if (afterFailure) return Math.min(MAX_RETRY_DELAY_MS, Math.max(MIN_RENEWAL_DELAY_MS, left / 4));
  return Math.max(MIN_RENEWAL_DELAY_MS, left / 2);
}

/**
 * Authenticates once (a refusal throws, as at any start) and keeps the lease renewed until
 * `stop()`. A renewal refused with `unauthorized` (the token was revoked, in GitLab or Kasmap, or
 * now names another agent) ends the lease for good: logged at error with the reason, never the
 * token. Any other failure (authz or GitLab unavailable) is retried; publishing pauses once the
 * lease has run out and resumes with the next answer.
 */
export async function acquireAgentLease(options: AgentLeaseOptions): Promise<AgentLease> {
  const now = options.now ?? Date.now;
  const first = await options.authenticate();
  const agentId = first.agent_id;
  let expiresAt = leaseEnd(first);
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let ended = false;
  let settleRefused: (error: KasmapError) => void = () => {};
  const refused = new Promise<KasmapError>((resolve) => {
    settleRefused = resolve;
  });

  function schedule(afterFailure: boolean): void {
    const delay = renewalDelayMs(expiresAt, now(), afterFailure);
    if (stopped || delay === null) return;
    timer = setTimeout(() => void renew(), delay);
  }

  function refuse(error: KasmapError): void {
    stopped = true;
    ended = true;
    options.logger.error(
      { agent_id: agentId, code: error.code, reason: error.message },
      "agent token refused at lease renewal (revoked in GitLab or Kasmap?): publishing stopped",
    );
    settleRefused(error);
  }

  async function renew(): Promise<void> {
    timer = null;
    try {
      const answer = await options.authenticate();
      if (stopped) return;
      if (answer.agent_id !== agentId) {
        refuse(new KasmapError("unauthorized", `the token now belongs to agent ${answer.agent_id}`));
        return;
      }
      expiresAt = leaseEnd(answer);
      schedule(false);
    } catch (error) {
      if (stopped) return;
      if (error instanceof KasmapError && error.code === "unauthorized") {
        refuse(error);
        return;
      }
      const left = (expiresAt ?? 0) - now();
      options.logger.warn(
        { agent_id: agentId, error: String(error), lease_left_ms: Math.max(0, left) },
        left > 0
          ? "agent token lease not renewed; trying again"
          : "agent token lease ran out: publishing paused until authz answers",
      );
      schedule(true);
    }
  }

  schedule(false);
  return {
    agentId,
    get current() {
      return !ended && (expiresAt === null || expiresAt > now());
    },
    refused,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

function leaseEnd(answer: AgentAuthentication): number | null {
  return answer.lease_expires_at === undefined ? null : Date.parse(answer.lease_expires_at);
}
