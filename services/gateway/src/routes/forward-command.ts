import { requestCommand } from "@kasmap/bus";
import {
  type AuthzCommandName,
  type AuthzCommandRequest,
  type AuthzCommandResult,
  ClientIpAddressSchema,
  isKasmapError,
  type KasmapError,
} from "@kasmap/contracts";
import type { FastifyRequest } from "fastify";
import { dropCachesForWrite } from "../cache/write-invalidation.ts";
import type { GatewayContext } from "../context.ts";
import { clientIpAddress } from "../http/request-url.ts";
import { waitForPositions } from "../read-model/read-your-writes.ts";

/**
 * How long authz may take to answer a command, ms, where the default (10 s) is too short: moving
 * a group rewrites and publishes its whole subtree (a group with 1,000 subgroups and 10,000
 * projects takes tens of seconds on a loaded 2-vCPU machine), and answering 503 to a move that
 * then completes would tell the caller it failed. GitLab's own transfer is synchronous too.
 */
const COMMAND_TIMEOUTS_MS: Partial<Record<AuthzCommandName, number>> = {
  "group.transfer": 120_000,
};

/**
 * Forwards a write to authz (`<root>.cmd.authz.<name>`), then waits until the projection has
 * applied the events it produced, so the caller's next read sees the write. After
 * `ctx.writeWaitMs` it answers anyway (logged): the write is in the log and will be applied.
 * authz's refusals arrive as `KasmapError`s with authz's code and message.
 */
export async function forwardCommand<N extends AuthzCommandName>(
  ctx: GatewayContext,
  name: N,
  request: AuthzCommandRequest<N>,
): Promise<AuthzCommandResult<N>> {
  const { result, positions } = await requestCommand(ctx.bus, name, request, COMMAND_TIMEOUTS_MS[name]);
  const applied = await waitForPositions(ctx.primaryDb, positions, ctx.writeWaitMs);
  if (!applied) {
    ctx.logger.warn(
      { command: name, positions },
      "projection did not apply the write in time; answering anyway",
    );
  }
  // Reads from a replica must not predate this write: from now on they wait for its WAL.
  await ctx.reads.recordWrite();
  // The projection's change notice can reach this process after the reply: drop now what the
  // write's notices will drop (only those entries), or the caller's next read could be served
  // a cached value from before its own write.
  await dropCachesForWrite(ctx.bus, ctx.caches, positions);
  return result;
}

/**
 * A `.catch` handler for `forwardCommand`: authz's `not_found` becomes the route's own answer,
 * anything else is rethrown. authz names the missing record in its message, where GitLab's route
 * answers a body of its own (`recordNotFound()`, `tokenNotFound()`).
 */
export function rethrowNotFoundAs(notFound: () => KasmapError): (error: unknown) => never {
  return (error) => {
    throw isKasmapError(error, "not_found") ? notFound() : error;
  };
}

/**
 * Who a command acts for: the user, and the client address of their request (behind a trusted
 * proxy, the client it names), which authz records in audited events as GitLab's `ip_address`.
 * An address the contract would refuse (an IPv6 zone, say) is left out rather than failing the write.
 */
export function commandActor(
  ctx: GatewayContext,
  request: FastifyRequest,
  userId: number,
): { actor_user_id: number; actor_ip_address?: string } {
  const address = ClientIpAddressSchema.safeParse(clientIpAddress(request, ctx.externalUrl));
  return address.success
    ? { actor_user_id: userId, actor_ip_address: address.data }
    : { actor_user_id: userId };
}
