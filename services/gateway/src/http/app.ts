import Fastify, {
  type FastifyBaseLogger,
  type FastifyBodyParser,
  type FastifyInstance,
  LogController,
} from "fastify";
import { registerConsoleRoutes } from "../console/console-routes.ts";
import type { GatewayContext } from "../context.ts";
import { registerGitLabMode } from "../gitlab/gitlab-mode-hook.ts";
import { registerAgentConfigurationRoutes } from "../routes/agent-configuration-routes.ts";
import { registerAgentRoutes } from "../routes/agent-routes.ts";
import { registerAgentTokenRoutes } from "../routes/agent-token-routes.ts";
import { registerAllowedAgentsRoutes } from "../routes/allowed-agents-routes.ts";
import { registerAuditRoutes } from "../routes/audit-routes.ts";
import { registerClusterLookupRoutes, registerDeployableByRoutes } from "../routes/cluster-lookup-routes.ts";
import { registerClusterVerificationRoutes } from "../routes/cluster-verification-routes.ts";
import { registerCollectorTokenRoutes } from "../routes/collector-token-routes.ts";
import { registerCredentialRoutes } from "../routes/credential-routes.ts";
import { registerEventStreamRoutes } from "../routes/event-stream-routes.ts";
import { registerGitLabInboxRoutes } from "../routes/gitlab-inbox-routes.ts";
import { registerGroupAndProjectRoutes } from "../routes/group-and-project-routes.ts";
import { registerGroupClusterAgentRoutes } from "../routes/group-cluster-agent-routes.ts";
import { registerJobRoutes } from "../routes/job-routes.ts";
import { registerMemberReadRoutes } from "../routes/member-read-routes.ts";
import { registerOpenApiRoutes } from "../routes/openapi-routes.ts";
import { registerOperationsRoutes } from "../routes/operations-routes.ts";
import { registerUserAndMemberRoutes } from "../routes/user-and-member-routes.ts";
import { gitLabErrorHandler } from "./error-handler.ts";
import { installHotReads } from "./hot-reads.ts";
import { rejectMalformedStrings } from "./malformed-strings.ts";

const YAML_TYPES = ["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"];

/**
 * The gateway's Fastify instance with every route, parser, hook and error mapping. Every route
 * module (`routes/<resource>-routes.ts`, exporting `register<Resource>Routes`) is registered here
 * and nowhere else.
 */
export function buildGatewayApp(ctx: GatewayContext): FastifyInstance {
  const limits = ctx.limits;
  // Typed as Fastify's base logger so the instance has Fastify's default type parameters.
  const logger: FastifyBaseLogger = ctx.logger;
  const app = Fastify({
    loggerInstance: logger,
    // One log line per request would dominate the gateway's cost at its request rates;
    // failures are logged by the error handler, volumes are in /metrics.
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
    // Full paths of deep projects arrive URL-encoded in `:id`; the default limit is 100 chars.
    routerOptions: { maxParamLength: 2048, ignoreTrailingSlash: true },
    // Every route reads at most this much body (a route may set a lower or higher limit of its
    // own, as PUT …/configuration does); beyond it: 413 naming the figure.
    bodyLimit: limits.bodyLimitBytes,
    // A request (headers and body) must arrive within this; a slowloris client gets 408 and the
    // socket is closed. Node checks pending requests every `connectionsCheckingInterval`.
    requestTimeout: limits.requestTimeoutMs,
    http: {
      headersTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1_000, limits.requestTimeoutMs),
    },
    // Socket inactivity; the live stream's keep-alive comment (15 s) stays well inside it.
    connectionTimeout: limits.connectionTimeoutMs,
  });
  app.addContentTypeParser("application/json", { parseAs: "string" }, jsonBodyParser(app));
  // GitLab sends `Content-Type: application/json` with no parameters; some clients compare the
  // header as a string. Fastify's own `; charset=utf-8` is dropped (JSON is UTF-8 by definition).
  // Hooks on every request take Fastify's callback form: an async hook costs promises per request.
  app.addHook("onSend", (_request, reply, payload, done) => {
    const type = reply.getHeader("content-type");
    if (typeof type === "string" && type !== "application/json" && /^application\/json\s*;/i.test(type)) {
      reply.header("content-type", "application/json");
    }
    done(null, payload);
  });
  app.addContentTypeParser(YAML_TYPES, { parseAs: "string" }, (_request, body, done) => done(null, body));
  app.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "string" },
    (_request, body, done) => done(null, formParams(String(body))),
  );
  app.addHook("onResponse", (request, reply, done) => {
    ctx.metrics.observe(
      request.method,
      request.routeOptions.url ?? "unmatched",
      reply.statusCode,
      reply.elapsedTime,
    );
    done();
  });
  // GitLab mode: GitLab's own routes are forwarded before Kasmap reads a byte of them.
  if (ctx.gitlab) registerGitLabMode(app, ctx, ctx.gitlab);
  // Standalone: the hot agent read is answered before Fastify when all of it is cached.
  else installHotReads(app, ctx);
  // NUL bytes and lone surrogates in any parameter: 400 before authentication (as GitLab).
  app.addHook("preValidation", rejectMalformedStrings);
  app.setErrorHandler(gitLabErrorHandler);
  // GitLab's body for an unknown route.
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: "404 Not Found" }));
  registerOperationsRoutes(app, ctx);
  registerGroupAndProjectRoutes(app, ctx);
  registerUserAndMemberRoutes(app, ctx);
  registerMemberReadRoutes(app, ctx);
  registerCredentialRoutes(app, ctx);
  registerAgentRoutes(app, ctx);
  registerAgentTokenRoutes(app, ctx);
  registerCollectorTokenRoutes(app, ctx);
  registerAgentConfigurationRoutes(app, ctx);
  registerAllowedAgentsRoutes(app, ctx);
  registerJobRoutes(app, ctx);
  registerClusterLookupRoutes(app, ctx);
  registerDeployableByRoutes(app, ctx);
  registerClusterVerificationRoutes(app, ctx);
  registerGroupClusterAgentRoutes(app, ctx);
  registerAuditRoutes(app, ctx);
  registerEventStreamRoutes(app, ctx);
  registerGitLabInboxRoutes(app, ctx);
  registerOpenApiRoutes(app);
  registerConsoleRoutes(app);
  return app;
}

/**
 * Fastify's JSON parser (prototype-poisoning checks included), except that an empty or
 * whitespace-only body is no body, as GitLab reads it: clients send `Content-Type:
 * application/json` on DELETEs and on POSTs whose parameters are all in the query.
 */
function jsonBodyParser(app: FastifyInstance): FastifyBodyParser<string> {
  const parseJson = app.getDefaultJsonParser("error", "error");
  return (request, body, done) => {
    if (String(body).trim() === "") return done(null, undefined);
    return parseJson(request, String(body), done);
  };
}

/** Form fields as Grape reads them: `scopes[]=a&scopes[]=b` is a list, a repeated key too. */
export function formParams(body: string): Record<string, string | string[]> {
  const params: Record<string, string | string[]> = {};
  for (const [rawKey, value] of new URLSearchParams(body)) {
    const isList = rawKey.endsWith("[]");
    const key = isList ? rawKey.slice(0, -2) : rawKey;
    const existing = params[key];
    if (existing === undefined) params[key] = isList ? [value] : value;
    else params[key] = [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return params;
}
