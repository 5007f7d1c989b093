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
};

export type CommandHandler<N extends AuthzCommandName> = (
  deps: CommandDeps,
  request: AuthzCommandParsedRequest<N>,
) => Promise<{ result: AuthzCommandResult<N>; positions: StreamPosition[] }>;
