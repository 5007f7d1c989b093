import type { JsMsg, StoredMsg } from "@nats-io/jetstream";
import type { Bus } from "./bus.ts";

const MSG_ID_HEADER = "Nats-Msg-Id";

/**
 * Whether a stored message is the delivered one: the same `Nats-Msg-Id` when both carry one
 * (every Kasmap publish does), else the same subject and bytes.
 */
export function isSameMessage(
  delivered: Pick<JsMsg, "subject" | "data" | "headers">,
  stored: Pick<StoredMsg, "subject" | "data" | "header">,
): boolean {
  const deliveredId = delivered.headers?.get(MSG_ID_HEADER) ?? "";
  const storedId = stored.header?.get(MSG_ID_HEADER) ?? "";
  if (deliveredId !== "" && storedId !== "") return deliveredId === storedId;
  return delivered.subject === stored.subject && Buffer.from(delivered.data).equals(Buffer.from(stored.data));
}

/**
 * Throws unless the stream's leader holds `message` at the sequence it was delivered with
 * (`$JS.API.STREAM.MSG.GET.<stream>`, answered by the leader; a sequence the leader no longer
 * holds, e.g. a heartbeat replaced by a newer one, is not a disagreement). An ordered consumer is
 * one replica's: it reads the copy of the server it was placed on. On nats-server 2.9.10 a
 * killed stream leader, started again, has briefly led with its old last sequence and kept, at
 * sequences the cluster had already given to other messages, messages the cluster stored
 * elsewhere; a consumer placed on it delivered them (test/e2e/nats-cluster-failover.e2e.test.ts).
 * The wrong stretch can be short and followed by sequences that agree again, so each message is
 * checked, not only a batch's last.
 */
export async function assertLeaderHolds(
  bus: Bus,
  streamName: string,
  message: Pick<JsMsg, "seq" | "subject" | "data" | "headers">,
): Promise<void> {
  const stored = await bus.jsm.streams.getMessage(streamName, { seq: message.seq });
  if (stored === null || isSameMessage(message, stored)) return;
  const name = (id: string | undefined, subject: string) => (id ? `${MSG_ID_HEADER} ${id}` : subject);
  throw new Error(
    `the consumer's replica holds another message at ${streamName} sequence ${message.seq} than the stream leader (${name(message.headers?.get(MSG_ID_HEADER), message.subject)}; the leader: ${name(stored.header?.get(MSG_ID_HEADER), stored.subject)}): reading again from the checkpoint`,
  );
}

/** Requests in flight at once for `assertLeaderHoldsAll`: the JetStream API answers them in turn. */
const CONCURRENT_CHECKS = 64;

/** `assertLeaderHolds` for each message, `CONCURRENT_CHECKS` requests at a time. */
export async function assertLeaderHoldsAll(
  bus: Bus,
  streamName: string,
  messages: readonly Pick<JsMsg, "seq" | "subject" | "data" | "headers">[],
): Promise<void> {
  for (let start = 0; start < messages.length; start += CONCURRENT_CHECKS) {
    await Promise.all(
      messages
        .slice(start, start + CONCURRENT_CHECKS)
        .map((message) => assertLeaderHolds(bus, streamName, message)),
    );
  }
}
