import { createHash, timingSafeEqual } from "node:crypto";
import { maxStreamBodyBytes, refuseOverLimit } from "@kasmap/bus";
import {
  GITLAB_EVENT_HEADER_CHARS,
  GITLAB_HOOK_BODY_MAX_BYTES,
  type GitLabInboxMessage,
  type GitLabInboxSource,
  KasmapError,
} from "@kasmap/contracts";
import { headers as natsHeaders } from "@nats-io/nats-core";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { GatewayContext } from "../context.ts";

/** One delivery route: its path, the header GitLab puts its secret in, and the secret expected. */
type InboxRoute = {
  path: string;
  source: GitLabInboxSource;
  tokenHeader: string;
  /** `X-Gitlab-Event` for hooks; audit streaming names its type in its own header. */
  eventHeader: string;
  secret: (ctx: GatewayContext) => string | null;
};

export const GITLAB_HOOKS_PATH = "/api/v4/-/gitlab/hooks";
export const GITLAB_AUDIT_EVENTS_PATH = "/api/v4/-/gitlab/audit-events";

const ROUTES: readonly InboxRoute[] = [
  {
    path: GITLAB_HOOKS_PATH,
    source: "hook",
    tokenHeader: "x-gitlab-token",
    eventHeader: "x-gitlab-event",
    secret: (ctx) => ctx.gitlabMirror?.hookSecret ?? null,
  },
  {
    path: GITLAB_AUDIT_EVENTS_PATH,
    source: "audit",
    tokenHeader: "x-gitlab-event-streaming-token",
    eventHeader: "x-gitlab-audit-event-type",
    secret: (ctx) => ctx.gitlabMirror?.streamingToken ?? null,
  },
];

/** GitLab's body for a request without valid credentials. */
const UNAUTHORIZED = { message: "401 Unauthorized" };
/** The not-found handler's body: in standalone mode these routes do not exist. */
const NOT_FOUND = { error: "404 Not Found" };

/**
 * GitLab mode (issue 9): `POST /api/v4/-/gitlab/hooks` (system hooks and project/group webhooks,
 * `X-Gitlab-Token` = `KASMAP_GITLAB_HOOK_SECRET`) and `POST /api/v4/-/gitlab/audit-events` (audit
 * event streaming, `X-Gitlab-Event-Streaming-Token` = `KASMAP_GITLAB_STREAMING_TOKEN`). The secret
 * is checked before the body is read (401 GitLab-style when missing, wrong or not configured),
 * then the body must be one JSON object in UTF-8 of at most `GITLAB_HOOK_BODY_MAX_BYTES` (400,
 * 413; also 413 should its stored message, re-encoded, not fit in the inbox stream's
 * `max_msg_size` or the server's `max_payload`), and it is stored on `<root>.gitlab.inbox.<source>` before GitLab gets 200 `{}`: GitLab does not
 * retry a failed delivery by itself, so a 503 (NATS could not store it) is the only signal, and
 * the periodic reconcile repairs what was lost. GitLab's `Idempotency-Key` (the same on a resent
 * delivery) becomes the `Nats-Msg-Id`, so a resend inside the stream's window is stored once.
 * In standalone mode both paths answer 404, as any unknown route.
 */
export function registerGitLabInboxRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.register(async (scope) => {
    // Only here: the raw body, so a non-JSON or non-object body is a 400 of ours, whatever its
    // content type (GitLab sends application/json; a proxy may not).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));
    for (const route of ROUTES) {
      scope.post(route.path, {
        bodyLimit: GITLAB_HOOK_BODY_MAX_BYTES,
        onRequest: async (request, reply) => refuseUnlessDelivery(ctx, route, request, reply),
        handler: async (request, reply) => {
          const message = inboxMessage(ctx, route, request, jsonObjectBody(request.body));
          await storeDelivery(ctx, route, request, message);
          return reply.code(200).send({});
        },
      });
    }
  });
}

/** 404 in standalone mode, 401 unless the route's secret is configured and presented. */
async function refuseUnlessDelivery(
  ctx: GatewayContext,
  route: InboxRoute,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply | undefined> {
  // Returning the reply after sending it ends the request here (Fastify's async hooks).
  if (!ctx.gitlabMirror) return reply.code(404).send(NOT_FOUND);
  const expected = route.secret(ctx);
  const presented = request.headers[route.tokenHeader];
  if (expected === null || typeof presented !== "string" || !sameSecret(presented, expected)) {
    return reply.code(401).send(UNAUTHORIZED);
  }
  return undefined;
}

/**
 * Constant-time comparison: both sides are hashed first, so neither the content nor the length
 * of the secret shows in the time the check takes.
 */
function sameSecret(presented: string, expected: string): boolean {
  const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/** Refuses bytes that are not UTF-8 rather than replacing them (3 bytes each once re-encoded). */
const utf8 = new TextDecoder("utf-8", { fatal: true });

function jsonObjectBody(body: unknown): Record<string, unknown> {
  if (!Buffer.isBuffer(body) || body.length === 0) throw badRequest("body is empty");
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw badRequest("body is not UTF-8");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw badRequest("body is not JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw badRequest("body is not a JSON object");
  }
  return parsed as Record<string, unknown>;
}

function badRequest(why: string): KasmapError {
  return new KasmapError("bad_request", why);
}

/**
 * The delivery as the inbox stores it, encoded: 400 for a body nested too deeply to encode again
 * (the stack of `JSON.stringify`), 413 for one whose message would not fit in the stream's or
 * the server's limit — caller errors, answered before anything is published.
 */
function inboxMessage(
  ctx: GatewayContext,
  route: InboxRoute,
  request: FastifyRequest,
  payload: Record<string, unknown>,
): Uint8Array {
  const event = request.headers[route.eventHeader];
  const message: GitLabInboxMessage = {
    received_at: new Date().toISOString(),
    source: route.source,
    gitlab_event: typeof event === "string" ? event.slice(0, GITLAB_EVENT_HEADER_CHARS) : null,
    payload,
  };
  let encoded: Uint8Array;
  try {
    encoded = Buffer.from(JSON.stringify(message), "utf8");
  } catch (error) {
    if (error instanceof RangeError) throw badRequest("body is nested too deeply");
    throw error;
  }
  refuseOverLimit("the delivery, as stored,", encoded.byteLength, maxStreamBodyBytes(ctx.bus, "gitlabInbox"));
  return encoded;
}

async function storeDelivery(
  ctx: GatewayContext,
  route: InboxRoute,
  request: FastifyRequest,
  message: Uint8Array,
): Promise<void> {
  const idempotencyKey = request.headers["idempotency-key"];
  const h = natsHeaders();
  h.set("Content-Type", "application/json");
  try {
    await ctx.bus.js.publish(ctx.bus.topology.subjects.gitlabInbox(route.source), message, {
      headers: h,
      // Bounded: a header value is one line; GitLab's keys are UUIDs.
      ...(typeof idempotencyKey === "string" && /^[\w.:-]{1,200}$/.test(idempotencyKey)
        ? { msgID: `${route.source}:${idempotencyKey}` }
        : {}),
    });
  } catch (error) {
    throw new KasmapError("unavailable", "the GitLab delivery could not be stored", { cause: error });
  }
}
