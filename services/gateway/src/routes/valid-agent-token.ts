import { type AgentTokenKind, AgentTokenModelSchema, KasmapError } from "@kasmap/contracts";
import type { GatewayContext } from "../context.ts";
import { fullMessagesBadRequest, modelFieldErrors } from "../http/model-errors.ts";
import { listActiveAgentTokens } from "../read-model/agent-queries.ts";

/** GitLab's `Clusters::AgentTokens::CreateService::ACTIVE_TOKENS_LIMIT`, per kind as authz counts. */
const ACTIVE_TOKENS_LIMIT = 2;
/** authz's words for the limit (`KIND_RULES`); GitLab's for agent tokens. */
const LIMIT_MESSAGES: Record<AgentTokenKind, string> = {
  agent: "An agent can have only two active tokens at a time",
  collector: "An agent can have only two active collector tokens at a time",
};

/**
 * A new token's `name` and `description` once GitLab's `Clusters::AgentToken` model accepts
 * them (`AgentTokenModelSchema`), else its errors as the create service answers them:
 * `400 {"message":"400 Bad request - [\"Name can't be blank\"]"}`. The service checks its limit
 * of two active tokens before the model, so an agent at the limit gets that refusal whatever
 * the name (counted in the read model here; authz counts again for a valid token).
 */
export async function validAgentToken(
  ctx: GatewayContext,
  agentId: number,
  kind: AgentTokenKind,
  params: { name: string | null; description?: string | null | undefined },
): Promise<{ name: string; description: string | null }> {
  const checked = AgentTokenModelSchema.safeParse(params);
  if (checked.success) return { name: checked.data.name, description: checked.data.description ?? null };
  const { total } = await listActiveAgentTokens(ctx.db, agentId, kind, { page: 1, perPage: 1 });
  if (total >= ACTIVE_TOKENS_LIMIT) throw new KasmapError("bad_request", LIMIT_MESSAGES[kind]);
  throw fullMessagesBadRequest(modelFieldErrors(checked.error));
}
