import { randomBytes } from "node:crypto";
import { isKasmapError, type KasmapEvent, type StreamRole } from "@kasmap/contracts";
import type { Consumer, ConsumerMessages, JsMsg } from "@nats-io/jetstream";
import { backoffDelayMs, sleep } from "./backoff.ts";
import type { Bus } from "./bus.ts";
import {
  type ConsumeProgress,
  restartOnReconnectOrStall,
  restartWhenIdleBehind,
} from "./consumer-liveness.ts";
import type { DeadLetterBudget, Letter } from "./dead-letter-budget.ts";
import { DeadLetterStore } from "./dead-letter-store.ts";
import { type MessageMeta, type ParsedEvent, parseStoredEvent } from "./event-message.ts";
import { type MessageBatches, messageBatches } from "./message-batches.ts";
import { assertLeaderHoldsAll } from "./stream-leader-check.ts";

export type CheckpointedEvent = { event: KasmapEvent; meta: MessageMeta };

/** What `screen` decided about a batch's valid events. */
export type ScreenVerdicts = {
  /** The refused events by stream sequence, with the reason: each is dead-lettered, not applied. */
  refused: ReadonlyMap<number, string>;
  /**
   * The first event (by stream sequence) that cannot be decided yet, and why: what lies before
   * it is applied (or dead-lettered) and committed, then the consumer backs off and reads again
   * from it. Its refusals from there on are ignored, to be decided again.
   */
  undecided?: { seq: number; reason: string };
};

export type CheckpointedConsumerOptions = {
  stream: StreamRole;
  /** Names the consumer in dead letters (`Nats-Msg-Id` `<stream>:<seq>:<name>`) and problems. */
  name: string;
  /** The last stream sequence applied (committed) by `applyBatch`; 0 if none. Read on every (re)start. */
  readCheckpoint(): Promise<number>;
  /**
   * Applies the events in stream order in ONE transaction that also stores `lastSeq` as the
   * checkpoint. `lastSeq` may be past the last event (a dead-lettered message ends the batch)
   * and `batch` may be empty: the checkpoint must still move. Throw
   * `KasmapError("poison_event")` if an event can never be applied: the batch is then
   * retried one event at a time and only the culprit is dead-lettered. Any other error discards
   * the consumer and resumes from the checkpoint, so a transaction that did not commit is redone.
   */
  applyBatch(batch: CheckpointedEvent[], lastSeq: number): Promise<void>;
  /**
   * Checks the valid events of a batch before `applyBatch`, for rules that need state (limits
   * per publisher, whether a publisher may still write). Returns the refused ones by stream
   * sequence, with the reason: each is dead-lettered and not applied (its sequence still
   * committed). An event that cannot be decided yet (`undecided`) cuts the batch there: the
   * events before it are applied and committed, so one publisher's undecided event holds back
   * only what comes after it, and only until the screen decides it. Throwing discards the whole
   * batch and restarts from the checkpoint with backoff (a screen that could not run). A refusal
   * must stand for a batch read again after a restart. Runs while the batch before is being
   * applied, so it must not depend on what `applyBatch` writes.
   */
  screen?(events: CheckpointedEvent[]): Promise<ScreenVerdicts>;
  /**
   * Checks each message before it is parsed, from its position, subject, size and time alone
   * (limits per publisher that need no body): a reason refuses it, and it is dead-lettered
   * without being parsed or validated — so a flood of messages over a limit costs no parse each.
   * Called in stream order; must answer the same for a batch read again after a restart.
   */
  preScreen?(meta: MessageMeta): string | undefined;
  /**
   * Whether a message (by its NATS subject) is this consumer's, for a consumer that is one
   * partition of its stream: the others' messages are neither validated nor applied, but their
   * sequences still advance the checkpoint (every message belongs to exactly one partition, so
   * each is dead-lettered or applied by exactly one). @default every message
   */
  owns?(subject: string): boolean;
  /** Most messages per `applyBatch` call. @default 500 */
  maxBatch?: number;
  /** How long, in milliseconds, a batch waits for more messages after its first one. @default 20 */
  maxWaitMs?: number;
  /**
   * Whether every message of a batch (this partition's or not) is first compared with the
   * stream leader's message at its sequence (`assertLeaderHoldsAll`, one request per message,
   * 64 at a time): a disagreement applies nothing and restarts from the checkpoint.
   * @default true when the stream has more than one replica
   */
  confirmWithLeader?: boolean;
  /**
   * A flood's dead letters (issue 12): whether a refused message gets a dead letter of its own.
   * `writerOf` names the message's writer from its subject (undefined: always its own dead
   * letter); `admit` answers whether that writer's budget still holds one at the message (by
   * stream sequence, so a batch read again answers the same). Beyond its budget, a writer's
   * refused messages are summarized per window of server time (`DeadLetterSummaries`): one dead
   * letter opens the window, one summary (`seq_ranges`, bounded in size) stands for the rest, so
   * one writer flooding its subjects with messages that are all refused costs a bounded number
   * of bytes a minute, whatever its rate. @default every refused message its own dead letter
   */
  deadLetterBudget?: DeadLetterBudget;
  /** Called on every rejected message (or summary of them) or restart, for logs and metrics. */
  onProblem?(problem: { kind: "dead-lettered" | "retrying"; meta: MessageMeta; reason: string }): void;
};

export type CheckpointedConsumer = {
  /** Stops after the batch in hand; what was not committed is read again on the next start. */
  stop(): Promise<void>;
  /** Resolves when the loop has ended. */
  readonly done: Promise<void>;
};

type Settings = Required<Pick<CheckpointedConsumerOptions, "maxBatch" | "maxWaitMs" | "confirmWithLeader">> &
  CheckpointedConsumerOptions & {
    streamName: string;
    /** Where refused messages go; its summary windows are kept across restarts of the loop. */
    deadLetters: DeadLetterStore;
  };

/**
 * Consumes one stream from a checkpoint kept by the caller (in the same transaction as the
 * rows it applies) instead of a durable consumer's acks. Each (re)start reads the checkpoint
 * and opens an ordered consumer at `checkpoint + 1`: the client checks every delivery sequence
 * and recreates the consumer on a gap, so messages arrive exactly in stream order, and there is
 * no redelivery that could overtake newer messages. Messages are grouped into batches (up to
 * `maxBatch`, waiting up to `maxWaitMs`); one that fails JSON, schema or subject validation is
 * dead-lettered and its sequence still advances the checkpoint. The next batch is read,
 * validated and screened while one is applied; batches are applied one at a time, in order. A
 * batch with an event the screen cannot decide yet is committed up to it, then the consumer backs
 * off and starts again from it. Any failure (NATS or database) discards the consumer, backs off
 * and starts again from the stored checkpoint.
 */
export function startCheckpointedConsumer(
  bus: Bus,
  options: CheckpointedConsumerOptions,
): CheckpointedConsumer {
  const controller = new AbortController();
  const settings: Settings = {
    maxBatch: 500,
    maxWaitMs: 20,
    confirmWithLeader: (bus.topology.streams.find((s) => s.role === options.stream)?.replicas ?? 1) > 1,
    ...options,
    streamName: bus.topology.streamNames[options.stream],
    deadLetters: new DeadLetterStore(bus, {
      consumer: options.name,
      ...(options.deadLetterBudget ? { budget: options.deadLetterBudget } : {}),
      onDeadLettered: (meta, reason) => options.onProblem?.({ kind: "dead-lettered", meta, reason }),
    }),
  };
  let current: ConsumerMessages | null = null;

  const done = (async () => {
    for (let attempt = 1; !controller.signal.aborted; attempt++) {
      let consumer: Consumer | null = null;
      try {
        // What was summarized after the checkpoint is read again: store the summaries first.
        await settings.deadLetters.storeHeldSummaries();
        const checkpoint = await options.readCheckpoint();
        consumer = await bus.js.consumers.get(settings.streamName, {
          opt_start_seq: checkpoint + 1,
          // `<name>-<random>_<n>` on the server: operators see whose it is; the random part keeps
          // a restart from colliding with the consumer a killed process left (gone when idle).
          name_prefix: `${settings.name}-${randomBytes(4).toString("hex")}`,
        });
        // Twice the batch in flight: the next batch arrives while this one is applied. The
        // iterator issues its pulls only as it is read, so a slow database bounds the buffer.
        // Heartbeats every 5 s (expires / 2), so a stalled pull is noticed within ~10 s.
        const messages = await consumer.consume({ max_messages: settings.maxBatch * 2, expires: 10_000 });
        current = messages;
        // stop() may have run while we were starting: it found nothing to stop, so stop here.
        if (controller.signal.aborted) break;
        attempt = await consumeUntilRestart(bus, settings, messages, checkpoint, controller.signal, attempt);
      } catch (error) {
        if (controller.signal.aborted || bus.nc.isClosed()) break;
        options.onProblem?.({
          kind: "retrying",
          meta: {
            stream: settings.streamName,
            seq: 0,
            subject: "",
            deliveryCount: 0,
            storedAt: new Date(0),
            bytes: 0,
          },
          reason: `consumer loop: ${String(error)}`,
        });
      } finally {
        discard(current, consumer);
        current = null;
      }
      if (controller.signal.aborted || bus.nc.isClosed()) break;
      await sleep(backoffDelayMs(Math.max(1, attempt), 200, 5_000), controller.signal);
    }
    // Stopped: the summaries held are stored now (a process killed instead loses them; the
    // dead letters that opened their windows remain).
    if (!bus.nc.isClosed()) {
      await settings.deadLetters.storeHeldSummaries().catch(() => {});
    }
  })();

  return {
    done,
    async stop() {
      controller.abort();
      // stop(), not close(): close() resolves only once the iterator has been drained.
      current?.stop();
      await done;
    },
  };
}

/** Stops the pull and deletes the ephemeral consumer; the server would drop it when idle anyway. */
function discard(messages: ConsumerMessages | null, consumer: Consumer | null): void {
  messages?.stop();
  consumer?.delete().catch(() => {});
}

/**
 * Applies batches until the iterator ends (the connection closed), the connection came back
 * or the pull stalled (`restartOnReconnectOrStall`), or stop() is called. Returns the backoff
 * attempt to continue with: 0 once a batch committed, so the next failure starts afresh.
 */
async function consumeUntilRestart(
  bus: Bus,
  settings: Settings,
  messages: ConsumerMessages,
  checkpoint: number,
  stopped: AbortSignal,
  attempt: number,
): Promise<number> {
  const restart = new AbortController();
  const onStop = () => restart.abort();
  stopped.addEventListener("abort", onStop, { once: true });
  const unwatch = restartOnReconnectOrStall(bus, messages, restart);
  const progress: ConsumeProgress = { seq: checkpoint, at: Date.now(), busy: 0 };
  const unwatchIdle = restartWhenIdleBehind(bus, settings.streamName, progress, restart);
  try {
    return await consumeBatches(bus, settings, messages, progress, restart.signal, attempt);
  } finally {
    unwatch();
    unwatchIdle();
    stopped.removeEventListener("abort", onStop);
  }
}

async function consumeBatches(
  bus: Bus,
  settings: Settings,
  messages: ConsumerMessages,
  progress: ConsumeProgress,
  signal: AbortSignal,
  attempt: number,
): Promise<number> {
  // Aborted when a batch fails, so that the batch being prepared ends before the restart.
  const reading = new AbortController();
  const onAbort = () => reading.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  const batches = messageBatches(messages, reading.signal);
  const prepareAfter = (committed: number) => {
    const prepared = readAndPrepare(bus, settings, batches, progress, committed);
    // Awaited below; until then a failure must not count as unhandled.
    prepared.catch(() => {});
    return prepared;
  };
  try {
    let next = prepareAfter(progress.seq);
    for (;;) {
      const batch = await next;
      if (batch === null || signal.aborted) return attempt;
      // The next batch is read, validated and screened while this one is applied (its
      // transaction mostly waits for PostgreSQL): what a batch's apply writes never changes how
      // the next is validated or screened (`screen`). Nothing after an undecided event is read
      // ahead: the consumer starts again from it.
      if (batch.undecided) reading.abort();
      else next = prepareAfter(batch.lastSeq);
      progress.busy++;
      try {
        if (batch.lastSeq > progress.seq) await applyPrepared(settings, batch);
      } catch (error) {
        reading.abort();
        await next.catch(() => null);
        throw error;
      } finally {
        progress.busy--;
        progress.at = Date.now();
      }
      if (batch.lastSeq > progress.seq) {
        progress.seq = batch.lastSeq;
        attempt = 0;
      }
      if (batch.undecided) {
        settings.onProblem?.({
          kind: "retrying",
          meta: batch.undecided.meta,
          reason: batch.undecided.reason,
        });
        // Read again after a backoff, which grows only while nothing is committed in between.
        return attempt;
      }
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/**
 * A batch validated and screened: what `applyBatch` gets, and what a poison fallback needs.
 * With `undecided`, it ends before that event (`lastSeq` is the last message before it, or the
 * committed checkpoint when none is).
 */
type PreparedBatch = {
  messages: JsMsg[];
  events: CheckpointedEvent[];
  lastSeq: number;
  undecided?: { meta: MessageMeta; reason: string };
};

/**
 * The next batch after `committed`, validated and screened (`prepareMessages`); null once the
 * messages end or reading stops. A batch of messages all at or below `committed` is skipped:
 * an ordered consumer never goes back, but nothing committed may be applied twice.
 */
async function readAndPrepare(
  bus: Bus,
  settings: Settings,
  batches: MessageBatches,
  progress: ConsumeProgress,
  committed: number,
): Promise<PreparedBatch | null> {
  for (;;) {
    const batch = await settings.deadLetters.storingSummariesWhenIdle(
      batches.next(settings.maxBatch, settings.maxWaitMs),
    );
    if (batch === null) return null;
    progress.at = Date.now();
    const fresh = batch.filter((m) => m.seq > committed);
    if (fresh.length === 0) continue;
    progress.busy++;
    try {
      return await prepareMessages(bus, settings, fresh, committed);
    } finally {
      progress.busy--;
      progress.at = Date.now();
    }
  }
}

function metaOf(streamName: string, message: JsMsg): MessageMeta {
  return {
    stream: streamName,
    seq: message.seq,
    subject: message.subject,
    deliveryCount: message.info.deliveryCount,
    storedAt: storedAtOf(message),
    bytes: message.data.byteLength,
  };
}

/** The JetStream timestamp (from the ack reply subject) as a Date, to the millisecond. */
function storedAtOf(message: JsMsg): Date {
  return new Date(Number(message.timestampNanos / 1_000_000n));
}

/**
 * Confirms the messages with the stream leader when `confirmWithLeader`, pre-screens the
 * messages, validates the rest and screens the valid ones, dead-lettering the invalid and
 * refused ones before anything commits (a crash in between only publishes the same dead letters
 * again, which their msgIDs deduplicate). An event the screen cannot decide yet cuts the batch
 * before it: only what precedes it is dead-lettered and returned.
 */
async function prepareMessages(
  bus: Bus,
  settings: Settings,
  received: JsMsg[],
  committed: number,
): Promise<PreparedBatch> {
  if (settings.confirmWithLeader) await assertLeaderHoldsAll(bus, settings.streamName, received);
  const lastSeq = received.at(-1)?.seq ?? 0;
  const owns = settings.owns;
  const messages = owns ? received.filter((m) => owns(m.subject)) : received;
  let events: CheckpointedEvent[] = [];
  const letters: Letter[] = [];
  const metas: MessageMeta[] = [];
  for (const message of messages) {
    const meta = metaOf(settings.streamName, message);
    metas.push(meta);
    const early = settings.preScreen?.(meta);
    if (early !== undefined) {
      letters.push({ message, meta, reason: early });
      continue;
    }
    const parsed = validateMessage(bus, settings, message);
    if (parsed.ok) events.push({ event: parsed.event, meta });
    else letters.push({ message, meta, reason: parsed.reason });
  }
  const verdicts = settings.screen && events.length > 0 ? await settings.screen(events) : undefined;
  const undecided = undecidedEventOf(verdicts, events);
  // Everything from an undecided event on is read again (and decided again) after the restart.
  const kept = (seq: number) => undecided === undefined || seq < undecided.meta.seq;
  const refused = verdicts?.refused ?? new Map<number, string>();
  if (refused.size > 0) {
    const bySeq = new Map(messages.map((m) => [m.seq, m]));
    for (const { meta } of events) {
      const reason = refused.get(meta.seq);
      const message = bySeq.get(meta.seq);
      if (reason !== undefined && message) letters.push({ message, meta, reason });
    }
    events = events.filter(({ meta }) => !refused.has(meta.seq));
  }
  const last = received.at(-1);
  await settings.deadLetters.storeBatch(
    metas.filter((meta) => kept(meta.seq)),
    letters.filter(({ meta }) => kept(meta.seq)),
    last ? storedAtOf(last) : new Date(0),
  );
  if (undecided === undefined) return { messages, events, lastSeq };
  return {
    messages: messages.filter((m) => kept(m.seq)),
    events: events.filter(({ meta }) => kept(meta.seq)),
    lastSeq: received.filter((m) => kept(m.seq)).at(-1)?.seq ?? committed,
    undecided,
  };
}

/** The event `screen` could not decide yet, with its reason; undefined when it decided all. */
function undecidedEventOf(
  verdicts: ScreenVerdicts | undefined,
  events: readonly CheckpointedEvent[],
): PreparedBatch["undecided"] {
  const undecided = verdicts?.undecided;
  if (undecided === undefined) return undefined;
  const event = events.find(({ meta }) => meta.seq === undecided.seq);
  if (event === undefined)
    throw new Error(`screen left seq ${undecided.seq} undecided, which is not in the batch`);
  return { meta: event.meta, reason: undecided.reason };
}

/** Applies a prepared batch with its last sequence as checkpoint, event by event on a poison event. */
async function applyPrepared(settings: Settings, batch: PreparedBatch): Promise<void> {
  const { messages, events, lastSeq } = batch;
  try {
    await settings.applyBatch(events, lastSeq);
  } catch (error) {
    if (!isKasmapError(error, "poison_event")) throw error;
    await applyOneByOne(settings, messages, events, lastSeq);
  }
}

/** Only the types bound to this consumer's stream and to the message's subject pass. */
function validateMessage(bus: Bus, settings: Settings, message: JsMsg): ParsedEvent {
  return parseStoredEvent(message.data, {
    root: bus.topology.root,
    stream: settings.stream,
    subject: message.subject,
  });
}

/**
 * A batch was refused for one (or more) of its events: each event alone, in order, finds it.
 * A refused event is dead-lettered and its sequence committed by itself, so it is never read
 * again; the events after it are still applied.
 */
async function applyOneByOne(
  settings: Settings,
  messages: JsMsg[],
  events: CheckpointedEvent[],
  lastSeq: number,
): Promise<void> {
  const bySeq = new Map(messages.map((m) => [m.seq, m]));
  for (const item of events) {
    try {
      await settings.applyBatch([item], item.meta.seq);
    } catch (error) {
      if (!isKasmapError(error, "poison_event")) throw error;
      const message = bySeq.get(item.meta.seq);
      if (message) await settings.deadLetters.storeOne({ message, meta: item.meta, reason: error.message });
      await settings.applyBatch([], item.meta.seq);
    }
  }
  // Dead-lettered messages after the last event still move the checkpoint.
  if ((events.at(-1)?.meta.seq ?? 0) < lastSeq) await settings.applyBatch([], lastSeq);
}
