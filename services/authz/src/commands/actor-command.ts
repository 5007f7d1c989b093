import type {
  AuthzCommandName,
  AuthzCommandParsedRequest,
  AuthzCommandResult,
  User,
} from "@kasmap/contracts";
import { requireActiveUser } from "../permissions.ts";
import type { UnitOfWork } from "../unit-of-work.ts";
import type { CommandHandler } from "./command-deps.ts";

/** The commands a user sends (their request names the acting user), as opposed to the mirror's. */
export type ActorCommandName = {
  [N in AuthzCommandName]: AuthzCommandParsedRequest<N> extends { actor_user_id: number } ? N : never;
}[AuthzCommandName];

/**
 * A command run for the user who sent it: one unit of work attributed to `actor_user_id` (and
 * their `actor_ip_address`), in which that user must exist and be active (`401 Unauthorized`
 * otherwise) before `work` sees them.
 */
export function actorCommand<N extends ActorCommandName>(
  work: (
    unit: UnitOfWork,
    actor: User,
    request: AuthzCommandParsedRequest<N>,
  ) => Promise<AuthzCommandResult<N>>,
): CommandHandler<N> {
  return (deps, request) =>
    deps.run(
      request.actor_user_id,
      async (unit) => work(unit, await requireActiveUser(unit.tx, request.actor_user_id), request),
      request.actor_ip_address,
    );
}
