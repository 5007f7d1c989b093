import { createTopology, type Topology } from "@kasmap/contracts";
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { type NatsConnection, nkeyAuthenticator, nkeys } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import type { NatsTls } from "./nats-client-auth.ts";

/** One NATS connection with its JetStream handles and the topology (subjects, streams) in use. */
export type Bus = {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly topology: Topology;
  /**
   * The public key (`U…`) of the nkey this client authenticated with, if it did: the sender a
   * collector names in `agent_token.authenticate` (`requestAgentAuthentication`).
   */
  readonly nkeyPublicKey?: string;
  close(): Promise<void>;
};

export type ConnectBusOptions = {
  /** e.g. `nats://127.0.0.1:4222`; several comma-separated URLs for a cluster. */
  url: string;
  /** Client name shown by the server (`nats-server` connz), e.g. `kasmap-projection`. */
  name: string;
  topology?: Topology;
  /** Authentication token for servers that require one (per-agent collector accounts). */
  token?: string;
  user?: string;
  pass?: string;
  /**
   * NATS nkey seed (`SU…`) of this client's user; the server config holds only its public key
   * (`U…`). Replies then arrive under `inboxPrefixForNkey(publicKey)`, the one inbox subtree a
   * per-agent account may subscribe to.
   */
  nkeySeed?: string;
  /** TLS files (custom CA, client certificate); without them TLS follows the server's demand. */
  tls?: NatsTls;
};

/**
 * The reply-inbox prefix of a client that authenticates with an nkey: `_INBOX.<public key>`.
 *
 * Why not the default `_INBOX`: a per-agent collector account may subscribe only to its own
 * inboxes. With the shared prefix it would need `_INBOX.>`, which also matches every other
 * client's replies — including authz's answer to `agent_token.create`, which carries a token in
 * plain text. The public key is no secret and is unique per user, so `_INBOX.<key>.>` covers
 * exactly this client's replies. Wire: replies arrive on `_INBOX.<public key>.<nuid>…`.
 */
export function inboxPrefixForNkey(publicKey: string): string {
  if (!isNkeyUserPublicKey(publicKey)) {
    throw new RangeError("expected a NATS user public key (U followed by 55 base32 characters)");
  }
  return `_INBOX.${publicKey}`;
}

/** Whether `text` has the form of a NATS user's public key: `U` and 55 base32 characters. */
export function isNkeyUserPublicKey(text: string): boolean {
  return /^U[A-Z2-7]{55}$/.test(text);
}

/** Authenticator, inbox prefix and public key for an nkey seed (`fromSeed` throws on a malformed seed). */
function nkeyConnectOptions(seed: string) {
  const encoded = new TextEncoder().encode(seed.trim());
  const publicKey = nkeys.fromSeed(encoded).getPublicKey();
  return { authenticator: nkeyAuthenticator(encoded), inboxPrefix: inboxPrefixForNkey(publicKey), publicKey };
}

/**
 * Connects and keeps reconnecting forever: a NATS restart must not end a service. Requests in
 * flight during a disconnect fail and are retried by their callers (publishes carry a msgID,
 * so a retry inside the duplicate window is dropped by the server).
 */
export async function connectBus(options: ConnectBusOptions): Promise<Bus> {
  const nkey = options.nkeySeed ? nkeyConnectOptions(options.nkeySeed) : null;
  const nc = await connect({
    servers: options.url.split(",").map((s) => s.trim()),
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    // The client otherwise builds a stack trace per request: ~2x publish throughput without.
    noAsyncTraces: true,
    ...(options.token ? { token: options.token } : {}),
    ...(options.user ? { user: options.user, pass: options.pass ?? "" } : {}),
    ...(nkey ? { authenticator: nkey.authenticator, inboxPrefix: nkey.inboxPrefix } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
  });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  return {
    nc,
    js,
    jsm,
    topology: options.topology ?? createTopology(),
    ...(nkey ? { nkeyPublicKey: nkey.publicKey } : {}),
    async close() {
      if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
    },
  };
}
