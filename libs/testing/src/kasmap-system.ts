import { type AuthzService, type AuthzServiceOptions, startAuthzService } from "@kasmap/authz-service";
import { type Bus, connectBus } from "@kasmap/bus";
import { generateToken, TOKEN_PREFIXES, type Topology } from "@kasmap/contracts";
import { type GatewayOptions, type RunningGateway, startGateway } from "@kasmap/gateway-service";
import { type GitLabSync, startGitLabSync } from "@kasmap/gitlab-sync-service";
import { createLogger } from "@kasmap/logging";
import {
  type ProjectionService,
  type ProjectionServiceOptions,
  startProjectionService,
} from "@kasmap/projection-service";
import type { Registry } from "@kasmap/runtime/metrics";
import { createTestDatabase, createTestTopology, eventually, testNatsUrl } from "./test-environment.ts";

/** What a test or bench may choose; everything else is the system as `npm start` runs it. */
export type KasmapSystemOptions = {
  /** The bootstrapped admin's personal access token; a fresh `glpat-…` when absent. */
  adminToken?: string;
  /**
   * An empty database of the caller's (e.g. a private primary with a streaming replica), kept
   * at `stop()`; absent: a fresh database on the test run's server, dropped at `stop()`.
   */
  databaseUrl?: string;
  /** Options of authz beyond bus, database and admin (e.g. `includeDescendants`). */
  authz?: Omit<AuthzServiceOptions, "bus" | "databaseUrl" | "adminToken" | "logger">;
  /** Options of the projection beyond bus and database (e.g. `collectorLimits`). */
  projection?: Omit<ProjectionServiceOptions, "bus" | "databaseUrl" | "logger">;
  /** Options of the gateway beyond bus and database (e.g. `jobTokenMaxLifetimeMs`). */
  gateway?: Omit<GatewayOptions, "bus" | "databaseUrl" | "logger">;
  /**
   * GitLab mode (issue 9) against this GitLab (e.g. `startGitLabSimulator()`): no bootstrapped
   * admin, the gateway's hook routes and mirror status on, and services/gitlab-sync running.
   */
  gitlab?: KasmapSystemGitLab;
  /** One registry for every service's metrics, as `npm start` has (the gateway serves it). */
  metrics?: Registry;
};

/** GitLab mode's settings, as `GitLabModeEnvSchema` names them (docs/gitlab-mode.md). */
export type KasmapSystemGitLab = {
  /** `KASMAP_GITLAB_URL`. */
  url: string;
  /** `KASMAP_GITLAB_TOKEN`: what the sync service reads GitLab with. */
  token: string;
  /** `KASMAP_GITLAB_ROOT_GROUPS`; absent: everything the token sees. */
  rootGroups?: string[];
  /** `KASMAP_GITLAB_HOOK_SECRET`. */
  hookSecret?: string;
  /** `KASMAP_GITLAB_STREAMING_TOKEN`. */
  streamingToken?: string;
  /** `KASMAP_GITLAB_RECONCILE_SECONDS` (default 300). */
  reconcileSeconds?: number;
  /** `KASMAP_GITLAB_PERMISSION_TTL_SECONDS` (the gateway's). */
  permissionTtlSeconds?: number;
};

export type ApiAnswer = { status: number; headers: Headers; body: Record<string, unknown> | null };

/** Authz, projection and gateway in this process, on a database and stream names of their own. */
export type KasmapSystem = {
  /** The gateway's base URL, e.g. `http://127.0.0.1:41234`. */
  gatewayUrl: string;
  adminToken: string;
  bus: Bus;
  topology: Topology;
  databaseUrl: string;
  authz: AuthzService;
  projection: ProjectionService;
  gateway: RunningGateway;
  /** GitLab mode only: the mirror (its `reconcileNow()` runs a full reconcile). */
  sync: GitLabSync | null;
  /**
   * Calls `<gatewayUrl><path>` with `token` in the header `header` (`private-token`, `job-token`);
   * a string body goes as text/plain, anything else as JSON.
   */
  call(method: string, path: string, token: string, body?: unknown, header?: string): Promise<Response>;
  /** Calls `/api/v4<path>` with the admin token (or `token`), returning status, headers and JSON. */
  api(method: string, path: string, body?: unknown, token?: string | null): Promise<ApiAnswer>;
  /** Stops the services, deletes the streams, closes the bus and drops the database. */
  stop(): Promise<void>;
};

const silent = (service: string) => createLogger(service, "silent");

/**
 * The one way tests and benches assemble Kasmap: authz, projection and gateway against the real
 * NATS JetStream and PostgreSQL of the test run (vitest's global setup), on a fresh database and
 * topology. Each service ensures the streams it publishes to, as in production. Resolves once the
 * bootstrapped admin can call the API (authz wrote it, the projection applied it).
 */
export async function startKasmapSystem(options: KasmapSystemOptions = {}): Promise<KasmapSystem> {
  const adminToken = options.adminToken ?? generateToken(TOKEN_PREFIXES.personalAccess);
  const database = options.databaseUrl
    ? { url: options.databaseUrl, drop: async () => {} }
    : await createTestDatabase();
  const topology = createTestTopology();
  const bus = await connectBus({ url: testNatsUrl(), name: "kasmap-test-system", topology });
  const stops: Array<() => Promise<void>> = [
    () => database.drop(),
    () => bus.close(),
    async () => {
      for (const stream of topology.streams) await bus.jsm.streams.delete(stream.name).catch(() => {});
    },
  ];
  const stop = async () => {
    for (const step of stops.reverse()) await step();
  };
  try {
    const projection = await startProjectionService({
      ...options.projection,
      bus,
      databaseUrl: database.url,
      logger: silent("projection"),
      ...(options.metrics ? { metrics: options.metrics } : {}),
    });
    stops.push(() => projection.stop());
    const gitlab = options.gitlab;
    const authz = await startAuthzService({
      ...options.authz,
      bus,
      databaseUrl: database.url,
      // In GitLab mode GitLab decides access: no admin of Kasmap's own.
      ...(gitlab ? {} : { adminToken }),
      gitlabMode: gitlab !== undefined,
      logger: silent("authz"),
      ...(options.metrics ? { metrics: options.metrics } : {}),
    });
    stops.push(() => authz.stop());
    const gateway = await startGateway({
      ...options.gateway,
      ...(gitlab
        ? {
            // The gateway's half of GitLab mode: GitLab decides access, hooks are stored.
            gitlab: {
              url: gitlab.url,
              permissionTtlSeconds: gitlab.permissionTtlSeconds ?? 60,
              timeoutMs: 10_000,
              ...options.gateway?.gitlab,
            },
            gitlabMirror: {
              hookSecret: gitlab.hookSecret ?? null,
              streamingToken: gitlab.streamingToken ?? null,
            },
          }
        : {}),
      bus,
      databaseUrl: database.url,
      logger: silent("gateway"),
      ...(options.metrics ? { metrics: options.metrics } : {}),
    });
    stops.push(() => gateway.stop());
    const sync = gitlab
      ? await startGitLabSync({
          bus,
          gitlabUrl: gitlab.url,
          gitlabToken: gitlab.token,
          rootGroups: gitlab.rootGroups ?? null,
          reconcileSeconds: gitlab.reconcileSeconds ?? 300,
          logger: silent("gitlab-sync"),
          ...(options.metrics ? { metrics: options.metrics } : {}),
        })
      : null;
    if (sync) stops.push(() => sync.stop());
    const call = gatewayCaller(gateway.url);
    const api = gatewayApi(gateway.url, adminToken);
    if (!gitlab) {
      await eventually(
        async () => ((await call("GET", "/api/v4/user", adminToken)).status === 200 ? true : undefined),
        "the bootstrapped admin",
      );
    }
    return {
      gatewayUrl: gateway.url,
      adminToken,
      bus,
      topology,
      databaseUrl: database.url,
      authz,
      projection,
      gateway,
      sync,
      call,
      api,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A `call` for one gateway (see `KasmapSystem.call`). */
export function gatewayCaller(baseUrl: string): KasmapSystem["call"] {
  return (method, path, token, body, header = "private-token") => {
    const headers: Record<string, string> = { [header]: token };
    if (typeof body === "string") headers["content-type"] = "text/plain";
    else if (body !== undefined) headers["content-type"] = "application/json";
    const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    return fetch(`${baseUrl}${path}`, {
      method,
      headers,
      ...(payload === undefined ? {} : { body: payload }),
    });
  };
}

/** An `api` for one gateway, as `token` unless a call names another (see `KasmapSystem.api`). */
export function gatewayApi(baseUrl: string, token: string): KasmapSystem["api"] {
  return async (method, path, body, callerToken = token) => {
    const response = await fetch(`${baseUrl}/api/v4${path}`, {
      method,
      headers: {
        ...(callerToken ? { "PRIVATE-TOKEN": callerToken } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : null,
    };
  };
}

/**
 * Asserts the status (the error shows the body when it differs) and returns the parsed JSON body,
 * or null. Throws rather than using vitest's `expect`, so benches may use the system too.
 */
export async function ok<T>(response: Promise<Response>, status: number): Promise<T> {
  const r = await response;
  const text = await r.text();
  if (r.status !== status) throw new Error(`expected HTTP ${status}, got ${r.status}: ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}
