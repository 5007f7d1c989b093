import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { GatewayContext } from "../context.ts";
import { clusterInfoJsonOf } from "../routes/agent-lookup.ts";
import { askGitLab, type ForwardFailure, forwardFailure, kasmapBaseUrl } from "./forward-to-gitlab.ts";
import { headersFromGitLab } from "./forwarded-headers.ts";
import type { GitLabUpstream } from "./gitlab-upstream.ts";

/** Where the agents sit in GitLab's answer: the body itself, a list of them, or `allowed_agents`. */
export type AgentAnswerShape = "agent" | "agents" | "allowed_agents";

/** GitLab's answers to enrich are pages of at most 100 agents; anything near this is not one. */
const MAX_ENRICHED_BODY_BYTES = 16 * 1024 * 1024;

/**
 * `GET /projects/:id/cluster_agents[/:agent_id]` and `GET /job/allowed_agents` with
 * `?with_cluster_info=true` in GitLab mode: forwarded to GitLab with the caller's credentials;
 * GitLab's 200 is the proof that the caller may read those agents, and each agent in it gains
 * `cluster_info` from the read model by its GitLab id (null when Kasmap has none). Everything
 * else GitLab says — other statuses, bodies that are not the expected JSON — passes through
 * untouched. Headers are GitLab's minus `content-length`.
 */
export async function forwardWithClusterInfo(
  ctx: GatewayContext,
  upstream: GitLabUpstream,
  request: FastifyRequest,
  reply: FastifyReply,
  shape: AgentAnswerShape,
  /** For shape `agent`: the route's `:agent_id`; GitLab's answer must be that agent. */
  agentId?: number,
): Promise<FastifyReply> {
  let incoming: IncomingMessage;
  let body: Buffer;
  try {
    // Identity encoding: Kasmap must read this body.
    incoming = await askGitLab(upstream, request.raw, { identity: true });
    body = await readBody(incoming);
  } catch (error) {
    const failure = error instanceof AnswerTooLargeError ? tooLargeFailure() : forwardFailure(error);
    request.log.warn({ err: error, status: failure.status }, "forwarding to GitLab failed");
    return reply.code(failure.status).headers(failure.headers).send(failure.body);
  }
  const status = incoming.statusCode ?? 502;
  const kasmap = () => kasmapBaseUrl(upstream, request);
  const enriched = status === 200 ? await enrich(ctx, body, shape, agentId) : null;
  if (enriched === null) {
    return reply
      .code(status)
      .headers(headersFromGitLab(incoming.headers, upstream.url, kasmap))
      .send(body);
  }
  return reply
    .code(status)
    .headers(headersFromGitLab(incoming.headers, upstream.url, kasmap, ["content-length"]))
    .send(enriched);
}

/**
 * GitLab's body with `cluster_info` on each agent, as JSON text; null when it is not the expected
 * shape. Each agent's text gains `,"cluster_info":<text>` before its closing brace, the text
 * spliced from the gateway's cached JSON of the facts (as the standalone hot read does): a single
 * agent keeps GitLab's own bytes; agents inside a list are re-serialized one by one.
 */
async function enrich(
  ctx: GatewayContext,
  body: Buffer,
  shape: AgentAnswerShape,
  agentId: number | undefined,
): Promise<string | null> {
  const text = body.toString("utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  const agents = agentsIn(parsed, shape);
  if (agents === null) return null;
  // GitLab's 200 proves access to the agent asked for, and to no other: an answer about another
  // id (whatever made GitLab give it) gets no `cluster_info`.
  if (shape === "agent" && agents[0]?.id !== agentId) return null;
  const infos = await Promise.all(agents.map((agent) => clusterInfoJsonOf(ctx, agent.id)));
  const withInfo = (agentText: string, index: number) =>
    `${agentText.slice(0, -1)},"cluster_info":${infos[index]}}`;
  if (shape === "agent") return withInfo(text.trimEnd(), 0);
  const list = `[${agents.map((agent, index) => withInfo(JSON.stringify(agent), index)).join(",")}]`;
  if (shape === "agents") return list;
  // `allowed_agents` sits among GitLab's other keys: serialize the rest, put the list in its place.
  const marker = `kasmap-allowed-agents-${randomUUID()}`;
  return JSON.stringify({ ...(parsed as object), allowed_agents: marker }).replace(
    JSON.stringify(marker),
    () => list,
  );
}

type AgentObject = { id: number; [key: string]: unknown };

/** The agents of GitLab's answer: objects with a numeric id and no `cluster_info` of their own. */
function agentsIn(parsed: unknown, shape: AgentAnswerShape): AgentObject[] | null {
  const list =
    shape === "agent"
      ? [parsed]
      : shape === "agents"
        ? parsed
        : isObject(parsed)
          ? parsed.allowed_agents
          : null;
  if (!Array.isArray(list)) return null;
  return list.every(isAgentObject) ? list : null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isAgentObject(value: unknown): value is AgentObject {
  return (
    isObject(value) &&
    typeof value.id === "number" &&
    Number.isSafeInteger(value.id) &&
    !("cluster_info" in value)
  );
}

async function readBody(incoming: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of incoming) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_ENRICHED_BODY_BYTES) {
      incoming.destroy();
      throw new AnswerTooLargeError();
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

class AnswerTooLargeError extends Error {
  constructor() {
    super(`GitLab's answer is over ${MAX_ENRICHED_BODY_BYTES} bytes`);
    this.name = "AnswerTooLargeError";
  }
}

function tooLargeFailure(): ForwardFailure {
  return {
    status: 502,
    headers: {},
    body: {
      message: `502 Bad Gateway - GitLab's answer is over ${MAX_ENRICHED_BODY_BYTES} bytes, too large to add cluster_info to; ask without with_cluster_info or for fewer per page`,
    },
  };
}
