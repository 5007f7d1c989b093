import { once } from "node:events";
import { agentIdOfEvent } from "@kasmap/contracts";
import type { AuthenticatedUser } from "../auth/authenticate.ts";
import type { GatewayContext } from "../context.ts";
import {
  sseCommentFrame,
  sseEventFrame,
  streamPositionId,
  withoutTokenDigests,
} from "../http/sse-framing.ts";
import { mayReceiveEvent } from "../permissions/event-visibility.ts";
import type { ReplayTruncation } from "./replay-live-events.ts";
import type { LiveEvent } from "./shared-live-feed.ts";

/**
 * Items waiting for one client, at most. A client that reads slower than events arrive is
 * disconnected when its queue passes this (it reconnects with `Last-Event-ID`), so a slow or
 * stalled reader costs bounded memory instead of growing without end.
 */
export const MAX_QUEUED_PER_CLIENT = 1_000;

type Item =
  | { kind: "event"; live: LiveEvent }
  | { kind: "comment"; text: string }
  | { kind: "truncated"; truncation: ReplayTruncation };

/**
 * One client's outgoing queue: each event passes the agent filter and the per-event visibility
 * check, then is written, waiting for the socket to drain before the next. While a replay runs
 * the live events are held (bounded too) and released after it, so the client sees the replay
 * first and nothing twice.
 */
export class EventSink {
  private readonly queue: Item[] = [];
  private held: Item[] | null;
  private pumping = false;
  private opened = false;
  private closed = false;
  private readonly roomWaiters: Array<() => void> = [];

  constructor(
    private readonly ctx: GatewayContext,
    private readonly user: AuthenticatedUser,
    private readonly out: NodeJS.WritableStream & { destroy(): void },
    private readonly agentId: number | undefined,
    options: { holdLive: boolean },
  ) {
    this.held = options.holdLive ? [] : null;
  }

  open(): void {
    this.opened = true;
    this.out.write(sseCommentFrame("kasmap live events"));
    this.pump();
  }

  /** A live event from the shared feed; never blocks the feed. */
  push(live: LiveEvent): void {
    if (this.closed) return;
    const target = this.held ?? this.queue;
    if (target.length >= MAX_QUEUED_PER_CLIENT) {
      this.disconnectSlowClient();
      return;
    }
    target.push({ kind: "event", live });
    this.pump();
  }

  /** A replayed item; waits while the queue is half full, so a replay cannot overflow it. */
  async pushReplayed(item: Item): Promise<void> {
    while (!this.closed && this.queue.length >= MAX_QUEUED_PER_CLIENT / 2) {
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
    if (this.closed) return;
    this.queue.push(item);
    this.pump();
  }

  /** The replay is over: the live events held meanwhile follow. */
  releaseHeld(): void {
    const held = this.held ?? [];
    this.held = null;
    if (this.closed) return;
    if (this.queue.length + held.length > MAX_QUEUED_PER_CLIENT) {
      this.disconnectSlowClient();
      return;
    }
    this.queue.push(...held);
    this.pump();
  }

  comment(text: string): void {
    if (this.closed || this.queue.length >= MAX_QUEUED_PER_CLIENT) return;
    this.queue.push({ kind: "comment", text });
    this.pump();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.held = null;
    for (const wake of this.roomWaiters.splice(0)) wake();
  }

  private disconnectSlowClient(): void {
    this.ctx.logger.info({ user_id: this.user.id }, "live event client too slow; disconnected");
    this.close();
    this.out.destroy();
  }

  private pump(): void {
    if (this.pumping || !this.opened || this.closed) return;
    this.pumping = true;
    void this.drainQueue().finally(() => {
      this.pumping = false;
      if (this.queue.length > 0 && !this.closed) this.pump();
    });
  }

  private async drainQueue(): Promise<void> {
    for (let item = this.queue.shift(); item !== undefined && !this.closed; item = this.queue.shift()) {
      if (this.queue.length < MAX_QUEUED_PER_CLIENT / 2) {
        for (const wake of this.roomWaiters.splice(0)) wake();
      }
      try {
        await this.deliver(item);
      } catch (error) {
        this.ctx.logger.warn({ err: error }, "live event not delivered");
      }
    }
    for (const wake of this.roomWaiters.splice(0)) wake();
  }

  private async deliver(item: Item): Promise<void> {
    if (item.kind === "comment") return this.write(sseCommentFrame(item.text));
    if (item.kind === "truncated") {
      // No `id:`: the client's Last-Event-ID stays at the last event it really received.
      return this.write(`event: kasmap.replay_truncated\ndata: ${JSON.stringify(item.truncation)}\n\n`);
    }
    const { event, position } = item.live;
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
