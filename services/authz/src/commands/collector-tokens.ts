import { mintAgentCredential, revokeAgentCredential } from "./agent-credentials.ts";
import type { CommandHandler } from "./command-deps.ts";

/**
 * `collector_token.create` (issue 9 item 5): Maintainer+; at most two active collector tokens
 * per agent (`400 Bad request - An agent can have only two active collector tokens at a time`);
 * `kmcol-…` returned once. `agent_token.authenticate` accepts it for the agent.
 */
export const createCollectorToken: CommandHandler<"collector_token.create"> = (deps, request) =>
  mintAgentCredential(deps, request, "collector");

/** `collector_token.revoke`: Maintainer+; its collector can no longer authenticate. */
export const revokeCollectorToken: CommandHandler<"collector_token.revoke"> = (deps, request) =>
  revokeAgentCredential(deps, request, "collector");
