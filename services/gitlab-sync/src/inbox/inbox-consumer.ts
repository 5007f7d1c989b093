import { type Bus, backoffDelayMs, publishDeadLetter, sleep } from "@kasmap/bus";
import { type GitLabInboxMessage, GitLabInboxMessageSchema, isKasmapError } from "@kasmap/contracts";
import { classifyHook, GitLabApiError } from "@kasmap/gitlab-api";
import type { Logger } from "@kasmap/logging";
import { AckPolicy, type ConsumerMessages, DeliverPolicy, type JsMsg } from "@nats-io/jetstream";
import type { GitLabMirror } from "../gitlab-mirror.ts";
import { isPermanentMirrorRefusal } from "../mirror-commands.ts";
import type { SyncHealth } from "../sync-status.ts";
import { applyChange } from "./apply-change.ts";

/** The durable consumer's name: one per deployment, shared by replicas. */
export const INBOX_CONSUMER = "kasmap-gitlab-sync";
/** How long a delivery may take before the server hands it out again (GitLab reads retry inside). */
const ACK_WAIT_NS = 5 * 60 * 1_000_000_000;
/** Deliveries in flight per replica. */
const MAX_ACK_PENDING = 16;

/**
 * How a delivery that failed for a reason that may pass (GitLab or authz not answering) is
 * retried: `nak` with a delay of `backoffDelayMs(delivery, baseDelayMs, maxDelayMs)`, and at
 * its `maxDeliveries`-th failed delivery it is dead-lettered with the last error as its reason
 * and terminated. A delivery that can never succeed thus holds one of the consumer's
 * `MAX_ACK_PENDING` slots for a bounded time (the defaults: 9 delays of 1, 2, 4 … 60 s, each
 * jittered to 50–100 %: about 2 to 4 minutes), not for ever; what it named is read again by the
 * next full reconcile (every 5 minutes by default), which also repairs a hook dead-lettered
 * during a longer outage.
 *
 * Counted by the consumer here, not by the server's `max_deliver`: a message at the server's
 * cap is dropped from the consumer with only an advisory (no dead letter, no reason), a
 * JetStream `backoff` list applies to `ack_wait` expiries and not to a `nak`'s own delay, and an
 * existing durable consumer refuses `consumers.add` with another config (nats.js 3.3 creates
 * with `action: "create"`), so deployments would need a consumer update.
 */
export type InboxRetryPolicy = { maxDeliveries: number; baseDelayMs: number; maxDelayMs: number };
export const INBOX_RETRY_POLICY: InboxRetryPolicy = {
  maxDeliveries: 10,
  baseDelayMs: 1_000,
  maxDelayMs: 60_000,
};

export type InboxConsumer = { stop(): Promise<void> };

type InboxOptions = {
  bus: Bus;
  gitlab: GitLabMirror;
  rootGroups: readonly string[] | null;
  health: SyncHealth;
  logger: Logger;
  /** Default `INBOX_RETRY_POLICY`; tests shorten it. */
  retry?: InboxRetryPolicy;
};

type Parsed = { ok: true; message: GitLabInboxMessage } | { ok: false; reason: string };

function parseInboxMessage(data: Uint8Array): Parsed {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return { ok: false, reason: "inbox message is not JSON" };
  }
  const parsed = GitLabInboxMessageSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `inbox message: ${issue?.path.join(".") || "(root)"}: ${issue?.message}` };
  }
  return { ok: true, message: parsed.data };
}

/**
 * Consumes `<ROOT>_GITLAB_INBOX` with a durable consumer (acks: nothing is lost across restarts):
 * each delivery is classified (`classifyHook`), what it names re-read from GitLab and put or
 * removed. A malformed message or a payload GitLab would never send is dead-lettered with its
 * reason; an event that changes nothing mirrored is acknowledged, and so is one authz refuses
 * for good (`isPermanentMirrorRefusal`, logged); GitLab or authz not answering is a `nak` with
 * backoff (up to a minute), so the delivery waits for them, up to `InboxRetryPolicy`'s cap.
 */
export async function startInboxConsumer(options: InboxOptions): Promise<InboxConsumer> {
  const { bus, logger } = options;
  const stream = bus.topology.streamNames.gitlabInbox;
  await bus.jsm.consumers.add(stream, {
    durable_name: INBOX_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: ACK_WAIT_NS,
    max_ack_pending: MAX_ACK_PENDING,
    filter_subject: bus.topology.wildcards.gitlabInbox,
  });
  const stopped = new AbortController();
  let current: ConsumerMessages | null = null;

  const done = (async () => {
    for (let attempt = 1; !stopped.signal.aborted; attempt++) {
      try {
        const consumer = await bus.js.consumers.get(stream, INBOX_CONSUMER);
        current = await consumer.consume({ max_messages: MAX_ACK_PENDING });
        if (stopped.signal.aborted) break;
        for await (const message of current) {
          await handle(options, message);
          attempt = 0;
        }
      } catch (error) {
        if (stopped.signal.aborted || bus.nc.isClosed()) break;
        logger.warn({ err: error }, "GitLab inbox consumer restarting");
      } finally {
        current?.stop();
        current = null;
      }
      if (stopped.signal.aborted || bus.nc.isClosed()) break;
      await sleep(backoffDelayMs(Math.max(1, attempt), 200, 5_000), stopped.signal);
    }
  })();

  return {
    async stop() {
      stopped.abort();
      current?.stop();
      await done;
    },
  };
}

async function handle(options: InboxOptions, message: JsMsg): Promise<void> {
  const parsed = parseInboxMessage(message.data);
  if (!parsed.ok) return deadLetter(options.bus, message, parsed.reason);
  const { source, gitlab_event: gitlabEvent, payload } = parsed.message;
  const change = classifyHook({ source, gitlabEvent }, payload);
  if (change.kind === "invalid") return deadLetter(options.bus, message, change.reason);
  if (change.kind === "ignored") {
    message.ack();
    return;
  }
  try {
    const refusals = await applyChange(options.gitlab, options.rootGroups, change, payload);
    for (const { what, error } of refusals) {
      options.health.failed(`not mirrored: ${what}: ${error.message}`);
      options.logger.warn({ err: error, what, change }, "GitLab change not mirrored: authz refused it");
    }
    message.ack();
  } catch (error) {
    options.health.failed(error);
    if (isPermanentMirrorRefusal(error)) {
      // authz will never take it as GitLab has it now (a path Kasmap cannot hold, a request
      // over NATS max_payload): the next reconcile reports it again; retrying the delivery
      // would not change the answer.
      options.logger.warn({ err: error, change }, "GitLab change not mirrored: authz refused it");
      message.ack();
      return;
    }
    const retry = options.retry ?? INBOX_RETRY_POLICY;
    const deliveries = message.info.deliveryCount;
    if (deliveries >= retry.maxDeliveries) {
      const reason = `not applied after ${deliveries} deliveries: ${describeFailure(error)}`;
      options.logger.warn(
        { err: error, change },
        "GitLab change dead-lettered; the next reconcile reads it again",
      );
      await publishDeadLetter(options.bus, deadLetterOf(options.bus, message, reason));
      // No reason on the term: a NATS server before 2.10.4 ignores `+TERM <reason>` and would
      // keep the delivery pending; the reason is in the dead letter.
      message.term();
      return;
    }
    const delayMs = backoffDelayMs(deliveries, retry.baseDelayMs, retry.maxDelayMs);
    options.logger.warn(
      {
        err: error,
        change,
        retry_in_ms: delayMs,
        gitlab: error instanceof GitLabApiError ? error.kind : undefined,
      },
      "GitLab change not applied yet; retrying",
    );
    message.nak(delayMs);
  }
}

/** The error's kind or code and message (GitLab's errors name path and status, never a token). */
function describeFailure(error: unknown): string {
  if (error instanceof GitLabApiError) return `GitLab ${error.kind}: ${error.message}`;
  if (isKasmapError(error)) return `${error.code}: ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function deadLetterOf(bus: Bus, message: JsMsg, reason: string) {
  return {
    stream: bus.topology.streamNames.gitlabInbox,
    seq: message.seq,
    subject: message.subject,
    consumer: INBOX_CONSUMER,
    reason,
    storedAt: new Date(Number(message.timestampNanos / 1_000_000n)),
    payload: message.data,
  };
}

async function deadLetter(bus: Bus, message: JsMsg, reason: string): Promise<void> {
  await publishDeadLetter(bus, deadLetterOf(bus, message, reason));
  message.ack();
}
