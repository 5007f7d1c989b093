import type {
  AuthzCommandName,
  AuthzCommandParsedRequest,
  AuthzCommandResult,
  StreamPosition,
} from "@kasmap/contracts";
import type { Logger } from "@kasmap/logging";
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
};

export type CommandHandler<N extends AuthzCommandName> = (
  deps: CommandDeps,
  request: AuthzCommandParsedRequest<N>,
) => Promise<{ result: AuthzCommandResult<N>; positions: StreamPosition[] }>;
