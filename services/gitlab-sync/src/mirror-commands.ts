import type { Bus } from "@kasmap/bus";
import { CommandReplySchema, KasmapError } from "@kasmap/contracts";

/**
 * The `mirror.*` commands to authz (docs/gitlab-mode.md), the sync service's only way to change
 * the registry: authz stays its one owner and publisher.
 */
export type MirrorGroup = {
  id: number;
  name: string;
  path: string;
  description: string | null;
  parent_id: number | null;
  created_at: string;
};
export type MirrorProject = {
  id: number;
  name: string;
  path: string;
  description: string | null;
  namespace: { id: number; kind: "group" | "user"; path: string; name: string };
  created_at: string;
};
export type MirrorAgent = { id: number; project_id: number; name: string; created_at: string };
export type MirrorKind = "group" | "project" | "agent";
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

const decoder = new TextDecoder();
const COMMAND_TIMEOUT_MS = 30_000;

/** The commands over NATS request/reply; a refusal comes back as authz's `KasmapError`. */
export function mirrorCommands(bus: Bus): MirrorCommands {
  async function send(name: string, request: unknown, timeoutMs = COMMAND_TIMEOUT_MS): Promise<unknown> {
    let data: Uint8Array;
    try {
      const reply = await bus.nc.request(bus.topology.subjects.authzCommand(name), JSON.stringify(request), {
        timeout: timeoutMs,
      });
      data = reply.data;
    } catch (error) {
      throw new KasmapError("unavailable", `authz service did not answer ${name}`, { cause: error });
    }
    const parsed = CommandReplySchema.parse(JSON.parse(decoder.decode(data)));
    if (!parsed.ok) {
      throw new KasmapError(
        parsed.error.code,
        parsed.error.message,
        parsed.error.fields ? { fields: parsed.error.fields } : undefined,
      );
    }
    return parsed.result;
  }
  const counts = (result: unknown): MirroredCounts => {
    const { groups, projects, agents } = result as MirroredCounts;
    return { groups, projects, agents };
  };
  return {
    putGroup: async (group) => void (await send("mirror.group.put", group)),
    putProject: async (project) => void (await send("mirror.project.put", project)),
    putAgent: async (agent) => void (await send("mirror.agent.put", agent)),
    putAgentConfig: async (agentId, yaml) =>
      void (await send("mirror.agent_config.put", { agent_id: agentId, yaml })),
    remove: async (kind, id) => void (await send("mirror.remove", { kind, id })),
    sweep: async (before, rootGroupIds) =>
      counts(await send("mirror.sweep", { before: before.toISOString(), root_group_ids: rootGroupIds })),
    status: async (timeoutMs) => counts(await send("mirror.status", {}, timeoutMs)),
  };
}
