import { acceptsAnonymousClients, anonymousAccessWarning, type NatsClientAuth } from "@kasmap/bus";
import type { Logger } from "@kasmap/logging";
import type { ServiceIdentity } from "../nats/render-authorization.ts";
import { probeStartNats } from "./nats-connection-probe.ts";
import { adoptOwnNatsServer, type OwnNatsServer, startOwnNatsServer } from "./own-nats-server.ts";

export type EnsureNatsOptions = {
  /** `NATS_URL` when set: an existing server, used with `credentials`. */
  configuredUrl?: string | undefined;
  /** From NATS_NKEY_SEED / NATS_NKEY_SEED_FILE / NATS_USER+NATS_PASSWORD / NATS_TLS_*. */
  credentials: NatsClientAuth;
  stateDir: string;
  logger: Logger;
  topologyRoot: string;
  /** Port of the default local server (4222). */
  port?: number;
};

export type LocalNats = {
  url: string;
  /** Connection options of each in-process service. */
  serviceAuth: Readonly<Record<ServiceIdentity, NatsClientAuth>>;
  /**
   * Environment overrides for the collector of `agentId` (undefined = remove the inherited
   * variable). On npm start's own server: the agent's own seed file, its user added on first use.
   */
  collectorEnv(agentId: number): Promise<Record<string, string | undefined>>;
  /** The warning for a server that accepts clients without credentials; null otherwise. */
  anonymousAccessWarning: string | null;
  stop(): Promise<void>;
};

/**
 * The NATS `npm start` runs on:
 * - `NATS_URL` set: that server, with the credentials given; refused or unreachable stops here.
 * - unset: whatever answers on 127.0.0.1:<port> with the credentials given (or a server an earlier
 *   `npm start` left running, with its keys); when nothing answers, `nats-server` from PATH with
 *   nkey users generated under `<state dir>/nats-keys` (own-nats-server.ts).
 * An existing server that lets clients in without credentials is used, with a warning logged at
 * warn level and returned for the start-up banner and the gateway's readiness.
 */
export async function ensureNats(options: EnsureNatsOptions): Promise<LocalNats> {
  const url = options.configuredUrl ?? `nats://127.0.0.1:${options.port ?? 4222}`;
  const outcome = await probeStartNats(url, options.credentials);
  if (outcome === "connected") return existingServer(url, options);
  if (options.configuredUrl) {
    throw new Error(
      outcome === "refused"
        ? `NATS_URL=${url} refused the credentials given (NATS_NKEY_SEED, NATS_NKEY_SEED_FILE or NATS_USER)`
        : `NATS_URL=${url} does not answer`,
    );
  }
  const port = options.port ?? 4222;
  if (outcome === "refused") {
    const adopted = await adoptOwnNatsServer(options.stateDir, port, options.topologyRoot);
    if (adopted) return ownServer(adopted);
    throw new Error(
      `a NATS server on 127.0.0.1:${port} requires credentials: set NATS_URL with NATS_NKEY_SEED_FILE (or NATS_USER/NATS_PASSWORD) for it, or stop it`,
    );
  }
  return ownServer(await startOwnNatsServer(options.stateDir, port, options.topologyRoot, options.logger));
}

async function existingServer(url: string, options: EnsureNatsOptions): Promise<LocalNats> {
  const anonymous = await acceptsAnonymousClients(url, options.credentials.tls);
  const warning = anonymous ? anonymousAccessWarning(url) : null;
  if (warning) options.logger.warn({ nats_url: url }, warning);
  const auth = options.credentials;
  return {
    url,
    serviceAuth: { authz: auth, projection: auth, gateway: auth, sync: auth },
    // The collector inherits the same NATS_* variables npm start was given.
    collectorEnv: async () => ({}),
    anonymousAccessWarning: warning,
    stop: async () => {},
  };
}

function ownServer(server: OwnNatsServer): LocalNats {
  const seed = (user: { seed: string }): NatsClientAuth => ({ nkeySeed: user.seed });
  return {
    url: server.url,
    serviceAuth: {
      authz: seed(server.services.authz),
      projection: seed(server.services.projection),
      gateway: seed(server.services.gateway),
      sync: seed(server.services.sync),
    },
    async collectorEnv(agentId) {
      const user = await server.agentUser(agentId);
      // A file, not the seed itself: the environment shows in process listings.
      return {
        NATS_NKEY_SEED: undefined,
        NATS_NKEY_SEED_FILE: user.seedFile,
        NATS_USER: undefined,
        NATS_PASSWORD: undefined,
      };
    },
    anonymousAccessWarning: null,
    stop: () => server.stop(),
  };
}
