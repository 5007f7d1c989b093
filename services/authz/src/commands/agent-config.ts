import { ACCESS_LEVELS, KasmapError, NOT_FOUND } from "@kasmap/contracts";
import { applyAgentConfig, parseConfigOrRefuse } from "../agent-authorizations.ts";
import { requireActiveUser, requireProjectLevel } from "../permissions.ts";
import { findLiveAgent } from "../store/entities.ts";
import type { CommandHandler } from "./command-deps.ts";

/**
 * `agent_config.put`: Maintainer+ on the agent's project (as pushing the config file would
 * need). A malformed file is refused with the line and field of each problem and the previous
 * grants stay in force; a valid one is resolved, stored and published. The reply counts what
 * was stored and lists what was dropped (GitLab drops silently).
 */
export const putAgentConfig: CommandHandler<"agent_config.put"> = (deps, request) =>
  deps.run(request.actor_user_id, async (unit) => {
    const actor = await requireActiveUser(unit.tx, request.actor_user_id);
    const project = await requireProjectLevel(unit.tx, actor, request.project_id, ACCESS_LEVELS.maintainer);
    const agent = await findLiveAgent(unit.tx, project.id, request.agent_id);
    if (!agent) throw new KasmapError("not_found", NOT_FOUND.agent);
    const config = parseConfigOrRefuse(request.yaml);
    const { grants, dropped } = await applyAgentConfig(unit, agent, request.yaml, config, "config_changed");
    return {
      agent_id: agent.id,
      ci_access: { projects: grants.ci_access.projects.length, groups: grants.ci_access.groups.length },
      user_access: { projects: grants.user_access.projects.length, groups: grants.user_access.groups.length },
      dropped,
    };
  });
