import {
  type AgentRefusalAction,
  EVENT_TYPES,
  fullMessages,
  isKasmapError,
  type KasmapError,
  newKasmapEvent,
} from "@kasmap/contracts";
import { AUTHZ_EVENT_SOURCE } from "../registry-events.ts";
import type { CommandHandler } from "./command-deps.ts";

/**
 * The refusals GitLab audits: its services' error responses, which for the REST routes are the
 * agent's model errors (an invalid or taken name). Authorization is not among them: GitLab's API
 * answers 403 (`authorize!`) and 404 (the finder) before it calls the service.
 */
const AUDITED_REFUSAL_CODES: readonly string[] = ["validation_failed", "bad_request"];

type AgentCommand = "agent.create" | "agent.delete";

/**
 * `handler`, plus GitLab's failure audit of its refusals (gitlab-org/gitlab,
 * ee/app/services/ee/clusters/agents/create_service.rb and delete_service.rb: a failed response
 * records `cluster_agent_create_failed` / `cluster_agent_delete_failed`). The refused command
 * rolled back, so the refusal is published from a unit of work of its own,
 * `io.kasmap.registry.agent.refused.v1` on `<root>.registry.project.<id>.agent_refused`, before
 * the refusal is answered. If that unit fails too, the refusal is still answered (and logged).
 */
export function auditingRefusals<N extends AgentCommand>(
  action: AgentRefusalAction,
  handler: CommandHandler<N>,
): CommandHandler<N> {
  return async (deps, request) => {
    try {
      return await handler(deps, request);
    } catch (error) {
      if (isKasmapError(error) && AUDITED_REFUSAL_CODES.includes(error.code)) {
        await recordRefusal(deps, action, request, error).catch((failure: unknown) =>
          deps.logger.error({ err: failure, action }, "could not record a refused agent change"),
        );
      }
      throw error;
    }
  };
}

async function recordRefusal<N extends AgentCommand>(
  deps: Parameters<CommandHandler<N>>[0],
  action: AgentRefusalAction,
  request: Parameters<CommandHandler<N>>[1],
  error: KasmapError,
): Promise<void> {
  const agent = "agent_id" in request ? await agentNamed(deps, request.agent_id) : null;
  const name = "name" in request ? request.name : (agent?.name ?? "");
  const messages = error.fields ? fullMessages(error.fields) : [error.message];
  await deps.run(
    request.actor_user_id,
    async (unit) => {
      unit.emit(
        newKasmapEvent({
          type: EVENT_TYPES.agentChangeRefused,
          source: AUTHZ_EVENT_SOURCE,
          subject: unit.topology.subjects.agentChangeRefused(request.project_id),
          data: {
            action,
            project_id: request.project_id,
            agent_id: agent?.id ?? null,
            agent_name: name,
            messages,
            actor_user_id: request.actor_user_id,
            ...(request.actor_ip_address === undefined ? {} : { actor_ip_address: request.actor_ip_address }),
          },
        }),
      );
    },
    request.actor_ip_address,
  );
}

async function agentNamed(
  deps: Parameters<CommandHandler<AgentCommand>>[0],
  agentId: number,
): Promise<{ id: number; name: string } | null> {
  const row = await deps.db
    .selectFrom("authz.agents")
    .select(["id", "name"])
    .where("id", "=", agentId)
    .executeTakeFirst();
  return row ?? null;
}
