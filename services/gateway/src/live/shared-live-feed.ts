import { type Bus, parseStoredEvent } from "@kasmap/bus";
import type { KasmapEvent, StreamPosition, StreamRole } from "@kasmap/contracts";
import type { Logger } from "@kasmap/logging";
import { type Consumer, type ConsumerMessages, DeliverPolicy } from "@nats-io/jetstream";

/**
 * The streams a live subscriber follows (dead letters are an operator's business, not a feed),
 * the projection's alerts included (issue 11).
 */
export const LIVE_ROLES = [
  "registry",
  "authz",
  "cluster",
  "heartbeat",
  "alerts",
] as const satisfies readonly StreamRole[];

/** How long the server keeps a live consumer nobody pulls from (a gateway that died), ms. */
const INACTIVE_THRESHOLD_MS = 60_000;

export type LiveEvent = { event: KasmapEvent; position: StreamPosition };
export type LiveListener = (live: LiveEvent) => void;

export type LiveSubscription = {
  /** Per stream name, the first sequence this listener receives live; replay stops before it. */
  readonly liveFrom: ReadonlyMap<string, number>;
  unsubscribe(): void;
};

/**
 * One ordered consumer per live stream for the whole gateway process, fanning every event out
 * to the connected clients: N clients cost 5 consumers, not 5 × N. The consumers start with the
 * first subscriber (at each stream's next sequence) and are deleted when the last one leaves.
 * Listeners are called synchronously, in stream order; they must not block (each client's
 * sink queues, bounded).
 */
export class SharedLiveFeed {
  private current: Promise<RunningFeed> | null = null;
  private currentFeed: RunningFeed | null = null;

  constructor(
    private readonly bus: Bus,
    private readonly logger: Logger,
  ) {}

  /** Adds `listener`; fails (NATS unreachable) without side effects, so a retry starts afresh. */
  async subscribe(listener: LiveListener): Promise<LiveSubscription> {
    for (;;) {
      if (this.current === null) {
        const starting = RunningFeed.start(this.bus, this.logger);
        this.current = starting;
        starting.then(
          (feed) => {
            if (this.current === starting) this.currentFeed = feed;
          },
          () => {
            if (this.current === starting) this.current = null;
          },
        );
      }
      const feed = await this.current;
      // The last listener may have left (stopping this feed) while we waited for it.
      if (feed.stopped) continue;
      // Synchronous from here: no event can be dispatched between reading positions and adding.
      const liveFrom = feed.nextSequences();
      feed.listeners.add(listener);
      return { liveFrom, unsubscribe: () => this.leave(feed, listener) };
    }
  }

  /** Stops the consumers now (gateway shutdown). */
  async stop(): Promise<void> {
    const feed = this.currentFeed;
    this.current = null;
    this.currentFeed = null;
    await feed?.stop();
  }

  /** How many clients the feed serves (for tests and metrics). */
  get listenerCount(): number {
    return this.currentFeed?.listeners.size ?? 0;
  }

  private leave(feed: RunningFeed, listener: LiveListener): void {
    feed.listeners.delete(listener);
    if (feed.listeners.size > 0 || feed.stopped) return;
    if (this.currentFeed === feed) {
      this.current = null;
      this.currentFeed = null;
    }
    void feed.stop();
  }
}

type Running = { consumer: Consumer; messages: ConsumerMessages };

class RunningFeed {
  readonly listeners = new Set<LiveListener>();
  stopped = false;
  /** Per stream name, the last sequence dispatched (or the stream's last when the feed began). */
  private readonly dispatched = new Map<string, number>();
  private readonly running: Running[] = [];

  private constructor(private readonly logger: Logger) {}

  static async start(bus: Bus, logger: Logger): Promise<RunningFeed> {
    const feed = new RunningFeed(logger);
    try {
      for (const role of LIVE_ROLES) {
        const stream = bus.topology.streamNames[role];
        const info = await bus.jsm.streams.info(stream);
        feed.dispatched.set(stream, info.state.last_seq);
        // "Now" is the next sequence, not DeliverPolicy.New: an ordered consumer recreated
        // before its first message would otherwise restart at sequence 1.
        const consumer = await bus.js.consumers.get(stream, {
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: info.state.last_seq + 1,
          inactive_threshold: INACTIVE_THRESHOLD_MS,
        });
        const messages = await consumer.consume();
        feed.running.push({ consumer, messages });
        void feed.forward(bus, role, messages);
      }
    } catch (error) {
      await feed.stop();
      throw error;
    }
    return feed;
  }

  nextSequences(): Map<string, number> {
    return new Map([...this.dispatched].map(([stream, seq]) => [stream, seq + 1]));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.listeners.clear();
    await Promise.all(
      this.running.splice(0).map(async ({ consumer, messages }) => {
        await messages.close().catch(() => undefined);
        await consumer.delete().catch(() => false);
      }),
    );
  }

  /**
   * Forwards the events that pass the same edge as the projection's (`parseStoredEvent`): a
   * type bound to this stream and subject, with the id the subject names. Anything else (a
   * registry event a collector forged onto its snapshot subject, a malformed message) is
   * skipped here; the projection dead-letters it (issue 7.1).
   */
  private async forward(bus: Bus, role: StreamRole, messages: ConsumerMessages): Promise<void> {
    const stream = bus.topology.streamNames[role];
    try {
      for await (const message of messages) {
        this.dispatched.set(stream, message.seq);
        const parsed = parseStoredEvent(message.data, {
          root: bus.topology.root,
          stream: role,
          subject: message.subject,
        });
        if (!parsed.ok) continue;
        const live: LiveEvent = { event: parsed.event, position: { stream, seq: message.seq } };
        for (const listener of this.listeners) {
          try {
            listener(live);
          } catch (error) {
            this.logger.warn({ err: error }, "live event listener failed");
          }
        }
      }
    } catch {
      // The iterator ends with an error when the connection closes under it; stop() follows.
    }
  }
}
