import { type NatsClientAuth, type ProbeOutcome, probeNatsConnection } from "@kasmap/bus";

/** The client name `npm start`'s connection attempts show in the server's connz. */
const START_PROBE_NAME = "kasmap-start-probe";

/** One connection attempt of `npm start` with `auth` (nothing = anonymous); never retries. */
export function probeStartNats(url: string, auth: NatsClientAuth): Promise<ProbeOutcome> {
  return probeNatsConnection(url, auth, START_PROBE_NAME);
}

/** Probes every `intervalMs` until `accepted` holds, at most `attempts` times. */
export async function waitForNats(
  url: string,
  auth: NatsClientAuth,
  attempts = 50,
  intervalMs = 200,
): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if ((await probeStartNats(url, auth)) === "connected") return true;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return false;
}
