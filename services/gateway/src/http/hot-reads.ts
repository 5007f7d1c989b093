import type { IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { mayPerform } from "@kasmap/access-rules";
import type { FastifyInstance } from "fastify";
import { credentialFromHeaders } from "../auth/authenticate.ts";
import type { Stamp } from "../cache/invalidating-cache.ts";
import type { GatewayContext } from "../context.ts";
import { projectIdCacheKey } from "../read-model/registry-queries.ts";
import { cachedAgentReadBody } from "../routes/agent-lookup.ts";
import type { AnswerTally } from "./metrics.ts";

/** The hot read's route pattern, as Fastify names it in metrics and the credential's scopes. */
export const AGENT_READ_ROUTE = "/api/v4/projects/:id/cluster_agents/:agent_id";

/**
 * `GET /api/v4/projects/<id>/cluster_agents/<agent_id>?with_cluster_info=true` with both ids
 * plain positive integers below 10^15 (no leading zero, sign, encoding or trailing slash): the
 * exact URLs Fastify routes to `AGENT_READ_ROUTE` with these params and nothing else.
 */
const AGENT_READ_URL =
  /^\/api\/v4\/projects\/([1-9]\d{0,14})\/cluster_agents\/([1-9]\d{0,14})\?with_cluster_info=true$/;

const JSON_CONTENT_TYPE = "application/json";

/** A request the hot read may answer: its ids, and the personal access token it carries if any. */
export type HotAgentReadRequest = { projectId: number; agentId: number; token: string | undefined };

/**
 * The ids of a request that may be answered as a hot agent read, else null. Only a GET without
 * a body qualifies: anything else (a body Fastify would read, HEAD, another query) takes
 * Fastify's path. Reads `rawHeaders` once instead of making Node build the `headers` object:
 * the token is the one `credentialFromHeaders` would find (`PRIVATE-TOKEN`, then
 * `Authorization: Bearer`), and a repeated credential header (which Node would join or drop)
 * also leaves the request to Fastify.
 */
export function hotAgentReadIds(
  request: Pick<IncomingMessage, "method" | "url" | "rawHeaders">,
): HotAgentReadRequest | null {
  if (request.method !== "GET") return null;
  const match = AGENT_READ_URL.exec(request.url ?? "");
  if (match === null) return null;
  const raw = request.rawHeaders;
  let privateToken: string | undefined;
  let authorization: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    // Header names compared by length first: most of a request's headers are none of these.
    if (name.length === 13) {
      const lower = name.toLowerCase();
      if (lower === "private-token") {
        if (privateToken !== undefined) return null;
        privateToken = raw[i + 1] ?? "";
      } else if (lower === "authorization") {
        if (authorization !== undefined) return null;
        authorization = raw[i + 1] ?? "";
      }
    } else if (name.length === 14 || name.length === 17) {
      const lower = name.toLowerCase();
      if (lower === "content-length" || lower === "transfer-encoding") return null;
    }
  }
  const credential = credentialFromHeaders({ "private-token": privateToken, authorization });
  return {
    projectId: Number(match[1]),
    agentId: Number(match[2]),
    token: credential?.kind === "personal_access_token" ? credential.token : undefined,
  };
}

/**
 * Whether `caller` (`hotCallerKey`) may read the agent, decided from the caches alone: the
 * accepted token, the project and the caller's level on it (Developer or more, or admin), the
 * agent in that project. Undefined when anything is not cached or the answer is not a 200 — then
 * Fastify's route answers, loading what is missing and giving every refusal (401, 403, 404) its
 * own body and headers. `stamps` receives the stamps of every entry the verdict was decided from
 * (`HotReadMemo`).
 */
function cachedHotAgentRead(
  ctx: GatewayContext,
  caller: string,
  ids: { projectId: number; agentId: number },
  stamps?: Stamp[],
): true | undefined {
  const user = ctx.access.cachedUserOf?.(caller, { method: "GET", route: AGENT_READ_ROUTE }, stamps);
  if (user === undefined) return undefined;
  const project = ctx.caches.projects.peekEntry(projectIdCacheKey(ids.projectId));
  if (!project?.value) return undefined;
  if (!user.isAdmin) {
    const level = ctx.access.cachedProjectLevel?.(user, project.value, stamps);
    if (level === undefined || !mayPerform("read_cluster_agent", level, false)) return undefined;
  }
  const found = ctx.caches.agents.peekEntry(ids.agentId);
  if (!found?.value || found.value.agent.project_id !== project.value.id) return undefined;
  stamps?.push(project.stamp, found.stamp);
  return true;
}

/**
 * The caller's verdict on the agent: remembered (`caches.hotAgentReads`: the same caller read
 * the same agent in the same project before, and no entry that verdict was decided from has
 * changed, expired or been dropped since), else decided from the caches and remembered.
 */
function mayReadAgent(
  ctx: GatewayContext,
  caller: string,
  ids: { projectId: number; agentId: number },
  nowMs: number,
): true | undefined {
  const remembered = ctx.caches.hotAgentReads.get(caller, ids.agentId, ids.projectId, nowMs);
  if (remembered !== undefined) return remembered;
  const stamps: Stamp[] = [];
  const verdict = cachedHotAgentRead(ctx, caller, ids, stamps);
  if (verdict !== undefined)
    ctx.caches.hotAgentReads.set(caller, ids.agentId, ids.projectId, verdict, stamps);
  return verdict;
}

/**
 * Answers the hot read without Fastify when `cachedHotAgentRead` can, with what Fastify's route
 * would send: `200`, `Content-Type: application/json`, `Content-Length` and the body (Node adds
 * `Date`, `Connection` and `Keep-Alive` alike), counted in the same metrics (`answers`, the
 * route's tally). True when answered.
 */
function answerHotRead(
  ctx: GatewayContext,
  answers: AnswerTally,
  request: IncomingMessage,
  response: ServerResponse,
): boolean {
  const ids = hotAgentReadIds(request);
  // Only a personal access token is answered here (a job token, or none, is Fastify's).
  if (ids === null || ids.token === undefined) return false;
  const startedAt = performance.now();
  const caller = ctx.access.hotCallerKey?.(ids.token);
  if (caller === undefined) return false;
  const nowMs = Date.now();
  if (mayReadAgent(ctx, caller, ids, nowMs) === undefined) return false;
  // The verdict does not depend on the body: a heartbeat renders the agent's body again once,
  // and every caller's verdict on it holds.
  const body = ctx.caches.agentReadBodies.current(ids.agentId, nowMs) ?? cachedAgentReadBody(ctx, ids);
  if (body === undefined) return false;
  response.writeHead(200, { "content-type": JSON_CONTENT_TYPE, "content-length": String(body.length) });
  response.end(body);
  ctx.metrics.authenticated();
  answers.add(performance.now() - startedAt);
  return true;
}

/**
 * Puts `answerHotRead` in front of Fastify on `app`'s server: the gateway's most frequent read,
 * when its answer is all cached, skips Fastify's routing, hooks and promises, which cost more
 * than the read itself. Every other request, and this one when anything is missing or refused,
 * goes to Fastify unchanged. Not in GitLab mode (GitLab's hook decides there) nor once the app
 * is closing (Fastify answers 503 then).
 */
export function installHotReads(app: FastifyInstance, ctx: GatewayContext): void {
  const server = app.server;
  const listeners = server.listeners("request") as Array<
    (request: IncomingMessage, response: ServerResponse) => void
  >;
  const fastifyHandler = listeners[0];
  if (listeners.length !== 1 || fastifyHandler === undefined) {
    throw new Error(`expected Fastify's one request listener, found ${listeners.length}`);
  }
  const answers = ctx.metrics.tally("GET", AGENT_READ_ROUTE, 200);
  let closing = false;
  app.addHook("preClose", (done) => {
    closing = true;
    done();
  });
  server.removeListener("request", fastifyHandler);
  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    if (!closing && answeredSafely(ctx, answers, request, response)) return;
    fastifyHandler.call(server, request, response);
  });
}

/**
 * `answerHotRead`, where an unexpected error leaves the request to Fastify (whose route answers
 * it, or its 500) — unless the answer had begun, which the socket's end then cuts short.
 */
function answeredSafely(
  ctx: GatewayContext,
  answers: AnswerTally,
  request: IncomingMessage,
  response: ServerResponse,
): boolean {
  try {
    return answerHotRead(ctx, answers, request, response);
  } catch {
    if (!response.headersSent) return false;
    response.destroy();
    return true;
  }
}
