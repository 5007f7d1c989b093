import { once } from "node:events";
import { agentIdOfEvent, EventStreamQuerySchema } from "@kasmap/contracts";
import type { FastifyInstance } from "fastify";
import type { AuthenticatedUser } from "../auth/authenticate.ts";
import { userOf } from "../auth/principal-of-request.ts";
import type { GatewayContext } from "../context.ts";
import { parseParams } from "../http/request-params.ts";
import {
  parseLastEventId,
  sseCommentFrame,
  sseEventFrame,
  streamPositionId,
  withoutTokenDigests,
} from "../http/sse-framing.ts";
import { followLiveEvents, type LiveEvent } from "../live/live-events.ts";
import { mayReceiveEvent } from "../permissions/event-visibility.ts";

/** A comment every 15 s keeps proxies (and the client's own timeout) from closing an idle stream. */
const KEEP_ALIVE_MS = 15_000;
/**
 * Events waiting for a slow client, at most: beyond it the stream is closed and the client
 * reconnects with `Last-Event-ID`, rather than the gateway buffering without bound.
 */
const MAX_PENDING_EVENTS = 10_000;

/**
 * `GET /api/v4/events/stream`: every event the caller may see, as Server-Sent Events
 * (`event: <CloudEvent type>`, `id: <stream>:<seq>`, `data: <CloudEvent JSON>` without token
 * digests), from now or after `Last-Event-ID`, optionally for one `?agent_id=`.
 */
export function registerEventStreamRoute(app: FastifyInstance, ctx: GatewayContext): void {
  app.get("/api/v4/events/stream", async (request, reply) => {
    const user = await userOf(ctx, request);
    const query = parseParams(EventStreamQuerySchema, request.query);
    const resumeAfter = parseLastEventId(request.headers["last-event-id"]);
    const sink = new EventSink(ctx, user, reply.raw, query.agent_id);
    const follower = await followLiveEvents(
      ctx.bus,
      { resumeAfter, ...(query.agent_id === undefined ? {} : { agentId: query.agent_id }) },
      (live) => sink.push(live),
    );
    reply.hijack();
    reply.raw.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      // nginx buffers responses by default, which would hold events back.
      "x-accel-buffering": "no",
    });
    sink.open();
    const keepAlive = setInterval(() => sink.comment("keep-alive"), KEEP_ALIVE_MS);
    const end = () => {
      clearInterval(keepAlive);
      sink.close();
      void follower.stop();
    };
    // The response, not the request: a request's "close" follows its body, not the connection.
    reply.raw.once("close", end);
    // A client gone while the consumers were being made has closed already: no event will come.
    if (reply.raw.destroyed) end();
  });
}

/**
 * Writes events in arrival order per stream: each passes the visibility check and waits for the
 * socket to drain before the next, through one promise chain.
 */
class EventSink {
  private chain: Promise<void>;
  private startChain: () => void = () => {};
  private pending = 0;
  private closed = false;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly user: AuthenticatedUser,
    private readonly out: NodeJS.WritableStream & { destroy(): void },
    private readonly agentId: number | undefined,
  ) {
    // Events may arrive before the headers are written; they wait for open().
    this.chain = new Promise((resolve) => {
      this.startChain = resolve;
    });
  }

  open(): void {
    this.out.write(sseCommentFrame("kasmap live events"));
    this.startChain();
  }

  push(live: LiveEvent): void {
    if (this.closed) return;
    if (++this.pending > MAX_PENDING_EVENTS) {
      this.close();
      this.out.destroy();
      return;
    }
    this.chain = this.chain
      .then(() => this.deliver(live))
      .catch((error: unknown) => this.ctx.logger.warn({ err: error }, "live event not delivered"))
      .finally(() => {
        this.pending--;
      });
  }

  comment(text: string): void {
    this.chain = this.chain.then(() => this.write(sseCommentFrame(text)));
  }

  close(): void {
    this.closed = true;
  }

  private async deliver({ event, position }: LiveEvent): Promise<void> {
    if (this.closed) return;
    if (this.agentId !== undefined && agentIdOfEvent(event) !== this.agentId) return;
    if (!(await mayReceiveEvent(this.ctx, this.user, event))) return;
    const data = JSON.stringify(withoutTokenDigests(event));
    await this.write(sseEventFrame({ event: event.type, id: streamPositionId(position), data }));
  }

  private async write(frame: string): Promise<void> {
    if (this.closed) return;
    if (!this.out.write(frame)) await once(this.out, "drain");
  }
}
