import type { NatsTls } from "./nats-client-auth.ts";
import { probeNatsConnection } from "./nats-connection-probe.ts";

/**
 * Whether the NATS server at `url` lets a client in with no credentials at all: the test is a
 * connection without any (with the TLS files given, so a TLS-only server is still reached).
 * Such a server lets anyone who reaches it publish forged events and read every subject.
 */
export async function acceptsAnonymousClients(url: string, tls?: NatsTls): Promise<boolean> {
  const outcome = await probeNatsConnection(url, tls ? { tls } : {}, "kasmap-anonymous-access-probe");
  return outcome === "connected";
}

/** The warning logged (level warn) and shown at start-up and in readiness for such a server. */
export function anonymousAccessWarning(url: string): string {
  return (
    `NATS at ${url} accepts clients without credentials: anyone who can reach it can publish ` +
    "forged events and read every subject, agent tokens included. Require nkey users " +
    "(cli/nats/render-authorization-cli.ts) or let npm start run its own NATS."
  );
}
