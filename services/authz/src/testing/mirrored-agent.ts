import type { AuthzCommandRequest } from "@kasmap/contracts";
import type { AuthzTestEnvironment } from "./authz-test-environment.ts";

/** Mirrors an agent and then its config file, as the sync does for each agent GitLab lists. */
export async function mirrorAgentWithConfig(
  env: AuthzTestEnvironment,
  agent: AuthzCommandRequest<"mirror.agent.put">,
  yaml: string | null,
): Promise<void> {
  await env.command("mirror.agent.put", agent);
  await env.command("mirror.agent_config.put", { agent_id: agent.id, yaml });
}
