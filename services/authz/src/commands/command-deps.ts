import type {
  AuthzCommandName,
  AuthzCommandParsedRequest,
  AuthzCommandResult,
  StreamPosition,
} from "@kasmap/contracts";
import type { Logger } from "@kasmap/logging";
import type { GitLabAgentTokenVerifier } from "../gitlab-agent-token-verifier.ts";
import type { RefusedTokenCache } from "../refused-token-cache.ts";
import type { AuthzDb } from "../store/schema.ts";
import type { UnitOfWorkRunner } from "../unit-of-work.ts";

/** What every command handler needs. */
export type CommandDeps = {
  readonly db: AuthzDb;
  readonly run: UnitOfWorkRunner;
  readonly logger: Logger;
  /**
   * GitLab mode (docs/gitlab-mode.md): GitLab, not this registry, holds users and memberships.
   * The gateway has asked GitLab whether the caller may act (and refuses otherwise); authz then
   * trusts that answer for the commands that act on mirrored agents (collector tokens), as it
   * trusts the gateway's `actor_user_id` everywhere.
   */
  readonly gitlabMode: boolean;
  /**
   * GitLab mode with GitLab's KAS secret: `agent_token.authenticate` asks GitLab about GitLab's
   * agent tokens (commands/gitlab-agent-tokens.ts). Absent: only this registry's tokens count.
   */
  readonly gitlabAgentTokens?: GitLabAgentTokenVerifier;
  /**
   * The re-authentication lease of Kasmap's own agent and collector tokens, seconds: a collector
   * presents its token again within it (`lease_expires_at`), so one whose token was revoked
   * stops even while another token of its agent keeps the agent's events accepted. GitLab agent
   * tokens get GitLab's TTL instead (`GitLabAgentVerdict.verifiedUntil`).
   */
  readonly agentTokenLeaseSeconds: number;
  /** `agent_token.authenticate`'s recent refusals, by token digest (refused-token-cache.ts). */
  readonly refusedTokens: RefusedTokenCache;
};

export type CommandHandler<N extends AuthzCommandName> = (
  deps: CommandDeps,
  request: AuthzCommandParsedRequest<N>,
) => Promise<{ result: AuthzCommandResult<N>; positions: StreamPosition[] }>;
