import { type Bus, requestCommand } from "@kasmap/bus";
import type { AuthzCommandRequest } from "@kasmap/contracts";

/**
 * The `mirror.*` commands to authz (docs/gitlab-mode.md), the sync service's only way to change
 * the registry: authz stays its one owner and publisher. A refusal comes back as authz's
 * `KasmapError`; authz not answering is `unavailable`.
 */
export type MirrorGroup = AuthzCommandRequest<"mirror.group.put">;
export type MirrorProject = AuthzCommandRequest<"mirror.project.put">;
export type MirrorAgent = AuthzCommandRequest<"mirror.agent.put">;
export type MirrorKind = AuthzCommandRequest<"mirror.remove">["kind"];
export type MirroredCounts = { groups: number; projects: number; agents: number };

export type MirrorCommands = {
  putGroup(group: MirrorGroup): Promise<void>;
  putProject(project: MirrorProject): Promise<void>;
  putAgent(agent: MirrorAgent): Promise<void>;
  putAgentConfig(agentId: number, yaml: string | null): Promise<void>;
  remove(kind: MirrorKind, id: number): Promise<void>;
  sweep(before: Date, rootGroupIds: number[] | null): Promise<MirroredCounts>;
  status(timeoutMs: number): Promise<MirroredCounts>;
};

/** A sweep of a large mirror removes in one transaction; it may take longer than a put. */
const SWEEP_TIMEOUT_MS = 120_000;

export function mirrorCommands(bus: Bus): MirrorCommands {
  return {
    async putGroup(group) {
      await requestCommand(bus, "mirror.group.put", group);
    },
    async putProject(project) {
      await requestCommand(bus, "mirror.project.put", project);
    },
    async putAgent(agent) {
      await requestCommand(bus, "mirror.agent.put", agent);
    },
    async putAgentConfig(agentId, yaml) {
      await requestCommand(bus, "mirror.agent_config.put", { agent_id: agentId, yaml });
    },
    async remove(kind, id) {
      await requestCommand(bus, "mirror.remove", { kind, id });
    },
    async sweep(before, rootGroupIds) {
      const request = { before: before.toISOString(), root_group_ids: rootGroupIds };
      const { result } = await requestCommand(bus, "mirror.sweep", request, SWEEP_TIMEOUT_MS);
      return { groups: result.groups, projects: result.projects, agents: result.agents };
    },
    async status(timeoutMs) {
      const { result } = await requestCommand(bus, "mirror.status", {}, timeoutMs);
      return { groups: result.groups, projects: result.projects, agents: result.agents };
    },
  };
}
