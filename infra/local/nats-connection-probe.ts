import type { NatsClientAuth } from "@kasmap/bus";
import { AuthorizationError, nkeyAuthenticator } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";

/** What a one-off connection attempt found: a server that let us in, one that refused us, or none. */
export type ProbeOutcome = "connected" | "refused" | "unreachable";

/** Connects once with `auth` (nothing = anonymous) and closes again; never retries. */
export async function probeNatsConnection(url: string, auth: NatsClientAuth): Promise<ProbeOutcome> {
  try {
    const nc = await connect({
      servers: url.split(",").map((s) => s.trim()),
      name: "kasmap-start-probe",
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

/** Probes every `intervalMs` until `accepted` holds, at most `attempts` times. */
export async function waitForNats(
  url: string,
  auth: NatsClientAuth,
  attempts = 50,
  intervalMs = 200,
): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if ((await probeNatsConnection(url, auth)) === "connected") return true;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return false;
}
