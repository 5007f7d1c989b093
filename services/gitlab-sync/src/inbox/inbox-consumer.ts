import { type Bus, backoffDelayMs, publishDeadLetter, sleep } from "@kasmap/bus";
import { type GitLabInboxMessage, GitLabInboxMessageSchema, isKasmapError } from "@kasmap/contracts";
import { classifyHook, GitLabApiError } from "@kasmap/gitlab-api";
import type { Logger } from "@kasmap/logging";
import { AckPolicy, type ConsumerMessages, DeliverPolicy, type JsMsg } from "@nats-io/jetstream";
import type { GitLabMirror } from "../gitlab-mirror.ts";
import type { SyncHealth } from "../sync-status.ts";
import { applyChange } from "./apply-change.ts";

/** The durable consumer's name: one per deployment, shared by replicas. */
export const INBOX_CONSUMER = "kasmap-gitlab-sync";
/** How long a delivery may take before the server hands it out again (GitLab reads retry inside). */
const ACK_WAIT_NS = 5 * 60 * 1_000_000_000;
/** Deliveries in flight per replica. */
const MAX_ACK_PENDING = 16;
/** Longest wait before a delivery that failed for want of GitLab or authz is tried again. */
const MAX_RETRY_DELAY_MS = 60_000;

export type InboxConsumer = { stop(): Promise<void> };

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
 * reason; an event that changes nothing mirrored is acknowledged; GitLab or authz not answering
 * is a `nak` with backoff (up to a minute), so the delivery waits for them.
 */
export async function startInboxConsumer(options: {
  bus: Bus;
  gitlab: GitLabMirror;
  rootGroups: readonly string[] | null;
  health: SyncHealth;
  logger: Logger;
}): Promise<InboxConsumer> {
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

async function handle(
  options: {
    bus: Bus;
    gitlab: GitLabMirror;
    rootGroups: readonly string[] | null;
    health: SyncHealth;
    logger: Logger;
  },
  message: JsMsg,
): Promise<void> {
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
    await applyChange(options.gitlab, options.rootGroups, change, payload);
    message.ack();
  } catch (error) {
    options.health.failed(error);
    if (isPermanentRefusal(error)) {
      // authz will never take it as GitLab has it now (a path Kasmap cannot hold): the next
      // reconcile reports it again; retrying the delivery would not change the answer.
      options.logger.warn({ err: error, change }, "GitLab change not mirrored: authz refused it");
      message.ack();
      return;
    }
    const delayMs = backoffDelayMs(message.info.deliveryCount, 1_000, MAX_RETRY_DELAY_MS);
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

function isPermanentRefusal(error: unknown): boolean {
  return (
    isKasmapError(error, "validation_failed") ||
    isKasmapError(error, "not_found") ||
    isKasmapError(error, "conflict")
  );
}

async function deadLetter(bus: Bus, message: JsMsg, reason: string): Promise<void> {
  await publishDeadLetter(bus, {
    stream: bus.topology.streamNames.gitlabInbox,
    seq: message.seq,
    subject: message.subject,
    consumer: INBOX_CONSUMER,
    reason,
    storedAt: new Date(Number(message.timestampNanos / 1_000_000n)),
    payload: message.data,
  });
  message.ack();
}
