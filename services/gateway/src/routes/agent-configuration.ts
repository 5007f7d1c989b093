import { KasmapError } from "@kasmap/contracts";
import type { FastifyInstance } from "fastify";
import { userOf } from "../auth/principal-of-request.ts";
import type { GatewayContext } from "../context.ts";
import { AGENT_WRITE_LEVEL, requireProjectRole } from "../permissions/project-role.ts";
import { REQUIRED_LEVELS, visibleProject } from "../permissions/visible-resources.ts";
import { agentInProject } from "./agent-lookup.ts";
import { forwardCommand } from "./forward-command.ts";

type AgentParams = { Params: { id: string; agent_id: string } };

/**
 * The configuration body: raw YAML (`text/plain`, `application/yaml`, `application/x-yaml`,
 * `text/yaml`), or JSON `{"content": "<yaml>"}` for clients that only speak JSON.
 */
export function configurationYaml(body: unknown): string {
  if (typeof body === "string") return body;
  if (typeof body === "object" && body !== null && "content" in body && typeof body.content === "string") {
    return body.content;
  }
  throw new KasmapError("bad_request", 'configuration body must be YAML text or JSON {"content": "..."}');
}

/**
 * `PUT /api/v4/projects/:id/cluster_agents/:agent_id/configuration`: Kasmap's stand-in for
 * committing `.gitlab/agents/<name>/config.yaml`. authz parses and applies it; the reply counts
 * the stored entries and lists the dropped ones with reasons (GitLab drops them silently). A
 * malformed file is `400 {"message": {"<field>": ["..."]}}` from authz.
 */
export function registerAgentConfigurationRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.put<AgentParams>("/api/v4/projects/:id/cluster_agents/:agent_id/configuration", async (request) => {
    const user = await userOf(ctx, request);
    const project = await visibleProject(ctx, user, request.params.id, REQUIRED_LEVELS.seeProject);
    await requireProjectRole(ctx, user, project, AGENT_WRITE_LEVEL);
    const { agent } = await agentInProject(ctx, project, request.params.agent_id);
    const yaml = configurationYaml(request.body);
    return forwardCommand(ctx, "agent_config.put", {
      actor_user_id: user.id,
      project_id: project.id,
      agent_id: agent.id,
      yaml,
    });
  });
}
