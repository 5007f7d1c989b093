import { AuthorizationError, nkeyAuthenticator } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import type { NatsClientAuth } from "./nats-client-auth.ts";

/** What a one-off connection attempt found: a server that let us in, one that refused us, or none. */
export type ProbeOutcome = "connected" | "refused" | "unreachable";

/**
 * Connects once with `auth` (nothing = anonymous) and closes again; never retries and never
 * throws. `clientName` is the name the server shows for the attempt (`nats-server` connz).
 */
export async function probeNatsConnection(
  url: string,
  auth: NatsClientAuth,
  clientName: string,
): Promise<ProbeOutcome> {
  try {
    const nc = await connect({
      servers: url.split(",").map((s) => s.trim()),
      name: clientName,
      timeout: 3_000,
      maxReconnectAttempts: 0,
      ...(auth.nkeySeed ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(auth.nkeySeed)) } : {}),
      ...(auth.user ? { user: auth.user, pass: auth.pass ?? "" } : {}),
      ...(auth.tls ? { tls: auth.tls } : {}),
    });
    await nc.close();
    return "connected";
  } catch (error) {
    return error instanceof AuthorizationError ? "refused" : "unreachable";
  }
}
