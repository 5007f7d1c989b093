import { type StreamReplicas, topologyFromEnv } from "@kasmap/contracts";
import { acceptsAnonymousClients, anonymousAccessWarning } from "./anonymous-access.ts";
import { type Bus, connectBus } from "./bus.ts";
import { type NatsAuthEnv, natsClientAuthFromEnv } from "./nats-client-auth.ts";
import { logStartRetry, retryAtStart, type StartRetry } from "./retry-at-start.ts";

type ServiceBusEnv = NatsAuthEnv & {
  NATS_URL: string;
  KASMAP_TOPOLOGY_ROOT: string;
  KASMAP_AUDIT_RETENTION_DAYS: number;
  KASMAP_STREAM_REPLICAS: StreamReplicas;
};

type WarnLogger = { warn(details: object, message: string): void };

/**
 * A server-side service's connection at start: the NATS credentials of its environment, retried
 * with backoff until NATS answers (a cluster restart may start the service first), then a warning
 * when the server lets anyone in (issue 7, item 5). `name` is the client name the server shows,
 * e.g. `kasmap-authz`; `onRetry` hears each retry after it is logged.
 */
export async function connectServiceBus(
  env: ServiceBusEnv,
  name: string,
  logger: WarnLogger,
  onRetry: (retry: StartRetry) => void = () => {},
): Promise<{ bus: Bus; natsWarnings: string[] }> {
  const topology = topologyFromEnv(env);
  const natsAuth = natsClientAuthFromEnv(env);
  const logRetry = logStartRetry(logger);
  const bus = await retryAtStart(
    "NATS",
    () => connectBus({ url: env.NATS_URL, name, topology, ...natsAuth }),
    (retry) => {
      logRetry(retry);
      onRetry(retry);
    },
  );
  const natsWarnings = (await acceptsAnonymousClients(env.NATS_URL, natsAuth.tls))
    ? [anonymousAccessWarning(env.NATS_URL)]
    : [];
  for (const warning of natsWarnings) logger.warn({ nats_url: env.NATS_URL }, warning);
  return { bus, natsWarnings };
}
