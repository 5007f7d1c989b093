import type { LiveTicketResponse, StreamPosition } from "@kasmap/contracts";
import { EventStreamQuerySchema, KasmapError, LIVE_TICKET_TTL_SECONDS } from "@kasmap/contracts";
import { valueGauge } from "@kasmap/runtime/metrics";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { unauthorized } from "../auth/authenticate.ts";
import { principalOf } from "../auth/principal-of-request.ts";
import type { GatewayContext } from "../context.ts";
import { parseParams } from "../http/request-params.ts";
import { parseLastEventId, sseCommentFrame } from "../http/sse-framing.ts";
import { EventSink } from "../live/event-sink.ts";
import { LiveConnectionLimiter } from "../live/live-connection-limiter.ts";
import { LiveTickets, type TicketCredential } from "../live/live-tickets.ts";
import { answerPeerRedemptions, redeemAtPeers } from "../live/peer-tickets.ts";
import { replayLiveEvents } from "../live/replay-live-events.ts";
import { type LiveSubscription, SharedLiveFeed } from "../live/shared-live-feed.ts";
import { STREAM_END_REASONS, type StreamEndReason, streamEndAfterRecheck } from "../live/stream-recheck.ts";

/** A comment every 15 s keeps proxies (and the client's own timeout) from closing an idle stream. */
const KEEP_ALIVE_MS = 15_000;

/**
 * How often an open stream checks that its credential still works (revoked or expired token,
 * blocked user) and still names the caller it was filtered for (a GitLab admin demoted).
 * Principals are cached (dropped on change notices standalone, for the permission TTL in GitLab
 * mode), so a check is usually a cache hit. A refusal, a changed caller or a credential that
 * cannot be confirmed (GitLab down once its answer expired) ends the stream
 * (`streamEndAfterRecheck`): within this standalone, within the permission TTL + this in GitLab mode.
 */
export const CREDENTIAL_RECHECK_MS = 5_000;

/**
 * At most this many events are read back per stream on a `Last-Event-ID` resume (the newest;
 * older ones are announced by a `kasmap.replay_truncated` frame): a resume from an ancient
 * position cannot make the gateway scan the whole audit log.
 */
export const MAX_REPLAY_EVENTS_PER_STREAM = 1_000;

/** Unused live tickets: per user (the oldest is forgotten beyond it) and per process (beyond: 429). */
export const LIVE_TICKET_LIMITS = { ttlMs: LIVE_TICKET_TTL_SECONDS * 1_000, perUser: 10, total: 10_000 };

/** The request headers that carry a personal access token; a ticket stands for them. */
const CREDENTIAL_HEADERS = ["private-token", "authorization"] as const;

/**
 * `GET /api/v4/events/stream`: every event the caller may see, as Server-Sent Events
 * (`event: <CloudEvent type>`, `id: <stream>:<seq>`, `data: <CloudEvent JSON>` without token
 * digests), from now or after `Last-Event-ID`, optionally for one `?agent_id=`.
 *
 * The credential is checked again every `CREDENTIAL_RECHECK_MS`: a revoked or expired token, a
 * blocked user, a caller whose identity or admin flag changed, or one GitLab (or the database)
 * cannot confirm ends the stream, with the reason as its last frame (`: kasmap live events ended:
 * …`). Limits: `ctx.limits.liveConnectionsPerUser` open streams per user (beyond: `429` with
 * `Retry-After`); one shared consumer per stream for all clients of this process; each client's
 * queue is bounded (a client too slow to keep up is disconnected and resumes with
 * `Last-Event-ID`); a resume replays at most `MAX_REPLAY_EVENTS_PER_STREAM` per stream, each
 * event passing the same visibility check as live ones.
 *
 * A browser's `EventSource` sends no headers: it first gets a ticket (`POST
 * /api/v4/-/kasmap/live/tickets`, `201 {"ticket","expires_at"}`, `LiveTickets`) and opens
 * `…/events/stream?ticket=`. The ticket works once, within `LIVE_TICKET_TTL_SECONDS`; the stream
 * is then the ticket holder's, re-checked as above. The gateway logs no request URLs.
 */
export function registerEventStreamRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const feed = new SharedLiveFeed(ctx.bus, ctx.logger);
  const limiter = new LiveConnectionLimiter(ctx.limits.liveConnectionsPerUser);
  valueGauge(ctx.metrics.registry, {
    name: "kasmap_gateway_live_clients",
    help: "Clients of GET /api/v4/events/stream receiving live events from this gateway.",
    read: () => feed.listenerCount,
  });
  app.addHook("onClose", async () => feed.stop());

  const tickets = new LiveTickets(LIVE_TICKET_LIMITS);
  // Peers ask for the tickets this replica holds: listened to from its first ticket on.
  let peers: ReturnType<typeof answerPeerRedemptions> | null = null;
  app.addHook("onClose", async () => peers?.unsubscribe());

  app.post("/api/v4/-/kasmap/live/tickets", async (request, reply) => {
    const { user } = await principalOf(ctx, request);
    if (peers === null) {
      peers = answerPeerRedemptions(ctx.bus, tickets, ctx.logger);
      // Subscribed at the server before the ticket leaves: a peer may ask for it at once.
      await ctx.bus.nc.flush();
    }
    const issued = tickets.issue(user.id, ticketCredentialOf(request));
    if (issued === null)
      throw new KasmapError("too_many_requests", "too many live tickets are waiting to be used");
    const body: LiveTicketResponse = { ticket: issued.ticket, expires_at: issued.expiresAt.toISOString() };
    return reply.code(201).header("cache-control", "no-store").send(body);
  });

  app.get("/api/v4/events/stream", async (request, reply) => {
    const query = parseParams(EventStreamQuerySchema, request.query);
    // With a ticket, the stream is authenticated (now and at every re-check) as the ticket's holder.
    const caller =
      query.ticket === undefined
        ? { request, userId: null }
        : await redeemTicket(ctx, tickets, request, query.ticket);
    const { user } = await principalOf(ctx, caller.request);
    if (caller.userId !== null && caller.userId !== user.id) throw unauthorized();
    const resumeAfter = parseLastEventId(request.headers["last-event-id"]);
    const release = limiter.tryAcquire(user.id);
    if (release === null) {
      throw new KasmapError("too_many_requests", `at most ${limiter.perUser} live event streams per user`);
    }
    const sink = new EventSink(ctx, user, reply.raw, query.agent_id, { holdLive: resumeAfter !== null });
    let subscription: LiveSubscription;
    try {
      subscription = await feed.subscribe((live) => sink.push(live));
    } catch (error) {
      release();
      throw new KasmapError("unavailable", "live events cannot be followed", { cause: error });
    }
    reply.hijack();
    reply.raw.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      // nginx buffers responses by default, which would hold events back.
      "x-accel-buffering": "no",
    });
    sink.open();
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      clearInterval(keepAlive);
      clearInterval(recheck);
      sink.close();
      subscription.unsubscribe();
      release();
    };
    /** Ends the stream for `reason`, named in its last frame: the sink was filtered for `user`. */
    const endAfterRecheck = (reason: StreamEndReason | null) => {
      if (reason === null || ended) return;
      ctx.logger.info({ user_id: user.id, reason }, "live event stream ended by its credential re-check");
      end();
      reply.raw.end(sseCommentFrame(`kasmap live events ended: ${STREAM_END_REASONS[reason]}`));
    };
    const keepAlive = setInterval(() => sink.comment("keep-alive"), KEEP_ALIVE_MS);
    const recheck = setInterval(() => {
      principalOf(ctx, caller.request).then(
        (now) => endAfterRecheck(streamEndAfterRecheck(user, { accepted: now.user })),
        (error: unknown) => endAfterRecheck(streamEndAfterRecheck(user, { failed: error })),
      );
    }, CREDENTIAL_RECHECK_MS);
    // The response, not the request: a request's "close" follows its body, not the connection.
    reply.raw.once("close", end);
    // A client gone while the consumers were being made has closed already: no event will come.
    if (reply.raw.destroyed) return end();
    if (resumeAfter !== null) void replayInto(ctx, sink, resumeAfter, subscription.liveFrom);
  });
}

/** Replays what the client missed into its sink, then lets the held live events follow. */
async function replayInto(
  ctx: GatewayContext,
  sink: EventSink,
  resumeAfter: StreamPosition,
  liveFrom: ReadonlyMap<string, number>,
): Promise<void> {
  try {
    for await (const item of replayLiveEvents(ctx.bus, resumeAfter, liveFrom, MAX_REPLAY_EVENTS_PER_STREAM)) {
      if (sink.isClosed) break;
      await sink.pushReplayed(item);
    }
  } catch (error) {
    ctx.logger.warn({ err: error }, "live event replay failed; continuing live");
  } finally {
    sink.releaseHeld();
  }
}

/** The credential headers of a ticket request (a `private_token` parameter read as its header). */
function ticketCredentialOf(request: FastifyRequest): TicketCredential {
  const credential: Record<string, string> = {};
  for (const name of CREDENTIAL_HEADERS) {
    const value = request.headers[name];
    if (typeof value === "string") credential[name] = value;
  }
  const query = request.query as Record<string, unknown> | undefined;
  if (typeof query?.private_token === "string") credential["private-token"] = query.private_token;
  return credential;
}

/**
 * The stream request as if it carried the ticket's credential headers (and no other credential),
 * with the user the ticket was issued to, whichever replica issued it; an unknown, used or expired
 * ticket is `401`.
 */
async function redeemTicket(
  ctx: GatewayContext,
  tickets: LiveTickets,
  request: FastifyRequest,
  ticket: string,
): Promise<{ request: FastifyRequest; userId: number | null }> {
  // Issued here, or by another replica, which redeems it there and answers (`peer-tickets.ts`).
  const redeemed = tickets.redeem(ticket) ?? (await redeemAtPeers(ctx.bus, ticket));
  if (!redeemed) throw unauthorized();
  const headers = { ...request.headers };
  for (const name of [...CREDENTIAL_HEADERS, "job-token"]) delete headers[name];
  // Everything else (method, route, socket) is the real request's.
  const asHolder: FastifyRequest = Object.create(request, {
    headers: { value: { ...headers, ...redeemed.credential } },
    query: { value: {} },
  });
  return { request: asHolder, userId: redeemed.userId };
}
