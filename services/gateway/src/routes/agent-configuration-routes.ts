import { AGENT_CONFIG_MAX_BYTES, KasmapError, refuseOversizedAgentConfig } from "@kasmap/contracts";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { userOf } from "../auth/principal-of-request.ts";
import type { GatewayContext } from "../context.ts";
import { gitLabErrorHandler } from "../http/error-handler.ts";
import { checkParams } from "../http/request-params.ts";
import { administeredAgent, agentIdParam } from "./agent-lookup.ts";
import { forwardCommand } from "./forward-command.ts";
import type { AgentParams } from "./route-params.ts";

/**
 * This route's body limit: room for a config at its 256 KiB limit even JSON-escaped
 * (`{"content": "..."}` can double it), so a config somewhat over the limit is measured exactly;
 * a body beyond this is not read at all, and gets the same `413` naming the config limit.
 */
const CONFIGURATION_BODY_LIMIT_BYTES = 4 * AGENT_CONFIG_MAX_BYTES;

/** The route's errors as everywhere, except that a body too large to read names the config limit. */
function configurationErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error.code !== "FST_ERR_CTP_BODY_TOO_LARGE") return gitLabErrorHandler(error, request, reply);
  const tooLarge = new KasmapError(
    "payload_too_large",
    `agent configuration body is over ${CONFIGURATION_BODY_LIMIT_BYTES} bytes; the limit is ${AGENT_CONFIG_MAX_BYTES} bytes (256 KiB)`,
  );
  return gitLabErrorHandler(tooLarge, request, reply);
}

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
 * the stored entries and reports the dropped ones with reasons (`dropped_count` and the first
 * 100; GitLab drops them silently). A malformed file is `400 {"message": {"<field>": ["..."]}}`
 * from authz; a file over 256 KiB is `413 {"message": "413 Request Entity Too Large - agent
 * configuration is N bytes; the limit is 262144 bytes (256 KiB)"}` before it is forwarded
 * (and authz refuses it again).
 */
export function registerAgentConfigurationRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const path = "/api/v4/projects/:id/cluster_agents/:agent_id/configuration";
  const options = { bodyLimit: CONFIGURATION_BODY_LIMIT_BYTES, errorHandler: configurationErrorHandler };
  app.put<AgentParams>(path, options, async (request) => {
    const user = await userOf(ctx, request);
    const [agentId] = checkParams(() => agentIdParam(request.params.agent_id));
    const { project, agent } = await administeredAgent(ctx, user, request.params.id, agentId);
    const yaml = configurationYaml(request.body);
    refuseOversizedAgentConfig(yaml);
    return forwardCommand(ctx, "agent_config.put", {
      actor_user_id: user.id,
      project_id: project.id,
      agent_id: agent.id,
      yaml,
    });
  });
}
