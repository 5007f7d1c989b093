import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import {
  type Bus,
  createStorageMonitor,
  DEFAULT_STORAGE_WARNING,
  ensureStreamOf,
  type StorageWarningThreshold,
} from "@kasmap/bus";
import { createPool, databaseOverPool, markingConnectionFailures, type ReadModelDatabase } from "@kasmap/db";
import { createGitLabClient } from "@kasmap/gitlab-api";
import { createLogger, type Logger } from "@kasmap/logging";
import { instrumentBus, type Registry } from "@kasmap/runtime/metrics";
import type { AccessSource } from "./access/access-source.ts";
import { createGitLabAccess } from "./access/gitlab-access.ts";
import { createStandaloneAccess, principalOfKey } from "./access/standalone-access.ts";
import { type ChangeNoticeFollower, followChangeNotices } from "./cache/change-notices.ts";
import {
  createGatewayCaches,
  DEFAULT_CACHE_MAX_BYTES,
  DEFAULT_CACHE_TTL_MS,
  type GatewayCaches,
} from "./cache/gateway-caches.ts";
import type { GatewayContext, GatewayGitLabMirror } from "./context.ts";
import type { GitLabUpstream } from "./gitlab/gitlab-upstream.ts";
import { buildGatewayApp } from "./http/app.ts";
import { DEFAULT_GATEWAY_LIMITS, type GatewayLimits } from "./http/gateway-limits.ts";
import { GatewayMetrics } from "./http/metrics.ts";
import { registerOperationsMetrics } from "./http/operations-metrics.ts";
import { DIRECT_ACCESS, type ExternalUrlSettings } from "./http/request-url.ts";
import { loadUserMemberships } from "./permissions/access-levels.ts";
import { createBatchedLoads } from "./read-model/batched-loads.ts";
import { primaryOnly, replicaRouting } from "./read-model/read-routing.ts";
import {
  projectOfCacheKey,
  type ReadModel as ReadModelDatabaseHandle,
} from "./read-model/registry-queries.ts";

export { type GatewayEnv, GatewayEnvSchema, gatewayOptionsFromEnv } from "./gateway-env.ts";
export { errorCatalogueMarkdown } from "./http/error-catalogue.ts";
export { PROBE_PATHS } from "./http/probe-paths.ts";
export { type ExternalUrlSettings, externalUrlSettings } from "./http/request-url.ts";
// The allowed-agents bench times the gateway's own query against generated registries.
export { queryAllowedAgents } from "./read-model/allowed-agents-query.ts";

/** The HTTP limits a caller may override; the rest keep `DEFAULT_GATEWAY_LIMITS`. */
export type GatewayLimitOptions = Partial<GatewayLimits>;

export type GatewayOptions = GatewayLimitOptions & {
  bus: Bus;
  /** The read model's database (the primary); the gateway only reads it. */
  databaseUrl: string;
  /**
   * A streaming replica of it (`DATABASE_READ_URL`): reads go there once it has replayed past
   * the last write this gateway acknowledged (read-routing.ts). Absent: every read goes to the primary.
   */
  databaseReadUrl?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  logger?: Logger;
  /**
   * Where the gateway registers its metrics, served at its `GET /metrics` with everything else
   * on it (`npm start`: every in-process service's); default a registry of its own.
   */
  metrics?: Registry;
  /** How long a write waits for the projection (read-your-writes) before answering anyway, ms. */
  writeWaitMs?: number;
  /**
   * The longest a cached read-model row is served, ms (default `DEFAULT_CACHE_TTL_MS`): the
   * backstop for a change notice lost in transit; notices drop entries long before.
   */
  cacheTtlMs?: number;
  /** All hot-read caches together, approximate bytes (default `DEFAULT_CACHE_MAX_BYTES`). */
  cacheMaxBytes?: number;
  /** PostgreSQL `statement_timeout` of the gateway's pool, ms (see `createDatabase`). */
  statementTimeoutMs?: number;
  /** How long getting a PostgreSQL connection may take, ms. */
  connectTimeoutMs?: number;
  /**
   * Notes about the NATS server shown in readiness (`nats_check[0].message`) without failing it,
   * e.g. that it accepts clients without credentials (libs/bus anonymousAccessWarning).
   */
  natsWarnings?: readonly string[];
  /** When readiness warns about JetStream storage use; default `DEFAULT_STORAGE_WARNING` (80 % of the account limit). */
  jetStreamStorageWarning?: StorageWarningThreshold;
  /**
   * The longest a job token works after its job was registered, ms (default 24 h; a job that
   * needs longer registers again). Finishing the job ends its token at once.
   */
  jobTokenMaxLifetimeMs?: number;
  /**
   * GitLab's `agent_authorization_include_descendants` (default true): whether a root group in
   * common with the agent's project suffices for `ci_access` in the allowed-agents answers.
   */
  includeDescendants?: boolean;
  /**
   * GitLab mode's mirror (issue 9): serves the hook and audit-event routes with these secrets,
   * stores deliveries on the GitLab inbox stream, and reports the sync service's staleness in
   * readiness and metrics. Absent: standalone, those routes answer 404.
   */
  gitlabMirror?: { hookSecret?: string | null; streamingToken?: string | null };
  /**
   * Where clients reach Kasmap, for the links it writes (`externalUrlSettings(KASMAP_EXTERNAL_URL,
   * KASMAP_TRUSTED_PROXIES)`); default: the request's `Host`, no proxy trusted.
   */
  externalUrl?: ExternalUrlSettings;
  /**
   * GitLab mode (docs/gitlab-mode.md): GitLab decides every caller's access, and every `/api/v4`
   * route that is not Kasmap's own is forwarded to GitLab. Absent: standalone.
   */
  gitlab?: GitLabModeOptions;
};

export type GitLabModeOptions = {
  /** GitLab's root URL (`KASMAP_GITLAB_URL`), e.g. `https://gitlab.example.com`. */
  url: string;
  /** How long GitLab's answers about a token are used (`KASMAP_GITLAB_PERMISSION_TTL_SECONDS`). */
  permissionTtlSeconds: number;
  /** One call to GitLab, ms (`KASMAP_GITLAB_TIMEOUT_MS`). */
  timeoutMs: number;
  /** Kasmap's URL as clients call it, for forwarded `Link` headers; default: each request's own. */
  externalUrl?: string;
};

/** `KASMAP_JOB_TOKEN_MAX_LIFETIME_SECONDS`' default: 24 hours. */
export const DEFAULT_JOB_TOKEN_MAX_LIFETIME_MS = 24 * 60 * 60 * 1000;

export type RunningGateway = { url: string; stop(): Promise<void> };

/**
 * Starts the HTTP gateway: GitLab's REST API over the read model, writes forwarded to authz.
 * The change-notice subscription is in place before the port opens, so no cached entry can
 * miss a notice. `stop()` closes the server and the pool; the bus belongs to the caller.
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const logger = options.logger ?? createLogger("gateway");
  const pool = (url: string) =>
    createPool({
      url,
      max: 8,
      applicationName: "kasmap-gateway",
      ...(options.statementTimeoutMs === undefined ? {} : { statementTimeoutMs: options.statementTimeoutMs }),
      ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
    });
  const primaryPool = markingConnectionFailures(pool(options.databaseUrl));
  const db = databaseOverPool<ReadModelDatabase>(primaryPool);
  const replicaPool = options.databaseReadUrl ? pool(options.databaseReadUrl) : null;
  const reads = replicaPool ? replicaRouting(db, primaryPool, replicaPool) : primaryOnly(db);
  const destroyPools = async () => {
    await db.destroy();
    await replicaPool?.end();
  };
  let follower: ChangeNoticeFollower | null = null;
  const loads = createBatchedLoads(db);
  const caches = createGatewayCaches({
    isEnabled: () => follower?.connected() ?? false,
    ttlMs: options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS,
    maxBytes: options.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES,
    reloads: {
      ...loads,
      project: (key) => projectOfCacheKey(db, key),
      ...(options.gitlab
        ? {}
        : {
            principal: (key: string) => principalOfKey(db, key),
            userMemberships: (userId: number) => loadUserMemberships(db, userId),
          }),
    },
  });
  follower = await followChangeNotices(options.bus, caches, logger);
  const gitlabMirror = options.gitlabMirror ? await mirrorInbox(options.bus, options.gitlabMirror) : null;
  const activeFollower = follower;
  const jobTokenMaxLifetimeMs = options.jobTokenMaxLifetimeMs ?? DEFAULT_JOB_TOKEN_MAX_LIFETIME_MS;
  const ctx: GatewayContext = {
    get db() {
      return reads.current();
    },
    primaryDb: db,
    loads,
    reads,
    bus: options.bus,
    logger,
    caches,
    access: accessSource(options, { db, caches, jobTokenMaxLifetimeMs, logger }),
    gitlab: options.gitlab ? gitLabUpstream(options.gitlab, options.externalUrl ?? DIRECT_ACCESS) : null,
    metrics: new GatewayMetrics(options.metrics),
    writeWaitMs: options.writeWaitMs ?? 5_000,
    limits: gatewayLimits(options),
    jobTokenMaxLifetimeMs,
    ciAccess: { includeDescendants: options.includeDescendants ?? true },
    externalUrl: options.externalUrl ?? DIRECT_ACCESS,
    natsConnected: () => activeFollower.connected(),
    natsWarnings: options.natsWarnings ?? [],
    jetStreamStorage: createStorageMonitor(options.bus),
    jetStreamStorageWarning: options.jetStreamStorageWarning ?? DEFAULT_STORAGE_WARNING,
    gitlabMirror,
  };
  registerOperationsMetrics(ctx.metrics.registry, ctx);
  const stopBusMetrics = instrumentBus(ctx.metrics.registry, options.bus, "gateway");
  const app = buildGatewayApp(ctx);
  // Read entries are reloaded ahead of their refresh time whether or not they are read then.
  const refresher = setInterval(() => caches.refreshDue(), REFRESH_PERIOD_MS);
  refresher.unref();
  try {
    await app.listen({ port: options.port ?? 0, host: options.host ?? "127.0.0.1" });
  } catch (error) {
    stopBusMetrics();
    clearInterval(refresher);
    activeFollower.stop();
    await destroyPools();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === "object" && address !== null ? address.port : (options.port ?? 0);
  const host = options.host ?? "127.0.0.1";
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    async stop() {
      await app.close();
      stopBusMetrics();
      clearInterval(refresher);
      activeFollower.stop();
      await destroyPools();
    },
  };
}

/** The gateway publishes GitLab's deliveries: their stream must be there (authz declares it). */
async function mirrorInbox(
  bus: Bus,
  options: NonNullable<GatewayOptions["gitlabMirror"]>,
): Promise<GatewayGitLabMirror> {
  await ensureStreamOf(bus, "gitlabInbox");
  return { hookSecret: options.hookSecret ?? null, streamingToken: options.streamingToken ?? null };
}

/** How often the caches' read entries near their refresh time are reloaded (`refreshDue`), ms. */
const REFRESH_PERIOD_MS = 1_000;

/** Connections kept open to GitLab for forwarded requests (each waits its turn beyond). */
const GITLAB_SOCKETS = 128;

/** GitLab's access source in GitLab mode, Kasmap's registry otherwise. */
function accessSource(
  options: GatewayOptions,
  deps: { db: ReadModelDatabaseHandle; caches: GatewayCaches; jobTokenMaxLifetimeMs: number; logger: Logger },
): AccessSource {
  if (!options.gitlab) return createStandaloneAccess(deps);
  const client = createGitLabClient({
    baseUrl: options.gitlab.url,
    timeoutMs: options.gitlab.timeoutMs,
    // A permission check waits for no retry: the caller gets 503 at once and may try again.
    maxRetries: 0,
    maxRetryAfterSeconds: 0,
    logger: deps.logger,
  });
  return createGitLabAccess({
    client,
    ttlMs: options.gitlab.permissionTtlSeconds * 1000,
    logger: deps.logger,
  });
}

function gitLabUpstream(options: GitLabModeOptions, gatewayUrl: ExternalUrlSettings): GitLabUpstream {
  const url = new URL(options.url.replace(/\/+$/, ""));
  const agentOptions = { keepAlive: true, maxSockets: GITLAB_SOCKETS };
  return {
    url,
    agent: url.protocol === "https:" ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions),
    // `GitLabModeOptions.externalUrl` (tests, embedders) wins over the gateway's own settings.
    externalUrl: options.externalUrl
      ? { ...gatewayUrl, externalUrl: new URL(options.externalUrl.replace(/\/+$/, "")) }
      : gatewayUrl,
    timeoutMs: options.timeoutMs,
  };
}

function gatewayLimits(options: GatewayLimitOptions): GatewayLimits {
  const limits = { ...DEFAULT_GATEWAY_LIMITS };
  for (const key of Object.keys(limits) as Array<keyof GatewayLimits>) {
    const value = options[key];
    if (value !== undefined) limits[key] = value;
  }
  return limits;
}
