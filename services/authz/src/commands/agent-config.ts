import {
  type Agent,
  type AgentGrantSet,
  type AuthzCommandParsedRequest,
  type AuthzCommandResult,
  type ConfigRefusal,
  type DroppedReport,
  isKasmapError,
  KasmapError,
  NOT_FOUND,
  refuseOversizedAgentConfig,
  type StreamPosition,
} from "@kasmap/contracts";
import { applyAgentConfig, parseConfigOrRefuse, recordConfigRefusal } from "../agent-authorizations.ts";
import { requireActiveUser, requireProjectAction } from "../permissions.ts";
import { findLiveAgent } from "../store/entities.ts";
import type { UnitOfWork } from "../unit-of-work.ts";
import type { CommandDeps, CommandHandler } from "./command-deps.ts";

type Request = AuthzCommandParsedRequest<"agent_config.put">;
type Result = AuthzCommandResult<"agent_config.put">;

/**
 * `agent_config.put`: Maintainer+ on the agent's project (as pushing the config file would
 * need). A file over 256 KiB is refused `payload_too_large` (413) naming the limit, whatever
 * the caller checked before; a malformed one is refused with the line and field of each problem
 * (the first 100). Either way the previous grants stay in force. A valid file is resolved,
 * stored and published; the reply counts what was stored and reports what was dropped (their
 * count and the first 100; GitLab drops silently).
 *
 * With `on_refusal: "record"` a refused file is not an error: the refusal is published
 * (`config_refused`, which also makes an audit row) and the reply carries `refusal`.
 */
export const putAgentConfig: CommandHandler<"agent_config.put"> = (deps, request) =>
  putConfigOfAgent(deps, {
    actorUserId: request.actor_user_id,
    agentOf: (unit) => agentOfRequest(unit, request),
    yaml: request.yaml,
    onRefusal: request.on_refusal,
    // A file written here replaces the one GitLab mode mirrored: the next mirror put applies
    // GitLab's file again even when it did not change there.
    afterPut: async (unit, agent) => {
      await unit.tx
        .updateTable("authz.agents")
        .set({ mirror_config_sha256: null })
        .where("id", "=", agent.id)
        .where("mirror_config_sha256", "is not", null)
        .execute();
    },
  });

/** One config put, whoever sends it: the REST path (`agent_config.put`) or the GitLab mirror. */
export type ConfigPut = {
  actorUserId: number | null;
  /** The agent, checked for the caller (throws when it may not be configured). */
  agentOf: (unit: UnitOfWork) => Promise<Agent>;
  yaml: string;
  onRefusal: "reject" | "record";
  /** Runs in the same transaction once the file was applied or its refusal recorded. */
  afterPut?: (unit: UnitOfWork, agent: Agent) => Promise<void>;
};

export async function putConfigOfAgent(
  deps: CommandDeps,
  put: ConfigPut,
): Promise<{ result: Result; positions: StreamPosition[] }> {
  try {
    return await deps.run(put.actorUserId, async (unit) => {
      const agent = await put.agentOf(unit);
      refuseOversizedAgentConfig(put.yaml);
      const config = parseConfigOrRefuse(put.yaml);
      const applied = await applyAgentConfig(unit, agent, put.yaml, config, "config_changed");
      await put.afterPut?.(unit, agent);
      return configSummary(agent.id, applied);
    });
  } catch (error) {
    const refusal = put.onRefusal === "record" ? refusalOf(error) : null;
    if (refusal === null) throw error;
    return deps.run(put.actorUserId, async (unit) => {
      const agent = await put.agentOf(unit);
      const recorded = await recordConfigRefusal(unit, agent, refusal);
      await put.afterPut?.(unit, agent);
      return { ...configSummary(agent.id, recorded), refusal };
    });
  }
}

async function agentOfRequest(unit: UnitOfWork, request: Request): Promise<Agent> {
  const actor = await requireActiveUser(unit.tx, request.actor_user_id);
  const project = await requireProjectAction(unit.tx, actor, request.project_id, "admin_cluster");
  const agent = await findLiveAgent(unit.tx, project.id, request.agent_id);
  if (!agent) throw new KasmapError("not_found", NOT_FOUND.agent);
  return agent;
}

/** A refusal of the file itself; permission and lookup failures are no refusal. */
function refusalOf(error: unknown): ConfigRefusal | null {
  if (!isKasmapError(error)) return null;
  const { code, message, fields } = error;
  if (code !== "payload_too_large" && code !== "validation_failed") return null;
  return { code, message, ...(fields ? { fields } : {}) };
}

export function configSummary(
  agentId: number,
  applied: { grants: AgentGrantSet; report: DroppedReport },
): Result {
  const { grants, report } = applied;
  return {
    agent_id: agentId,
    ci_access: { projects: grants.ci_access.projects.length, groups: grants.ci_access.groups.length },
    user_access: { projects: grants.user_access.projects.length, groups: grants.user_access.groups.length },
    ...report,
  };
}
