import { AgentAuthorizationEnvSchema, CommonEnvSchema, GitLabModeEnvSchema } from "@kasmap/contracts";
import { z } from "zod";
import { DEFAULT_GATEWAY_LIMITS, type GatewayLimits } from "./http/gateway-limits.ts";
import { externalUrlSettings } from "./http/request-url.ts";
import type { GatewayOptions } from "./index.ts";

/** One of the gateway's HTTP limits: a positive whole number, `DEFAULT_GATEWAY_LIMITS[name]` when unset. */
const gatewayLimit = (name: keyof GatewayLimits) =>
  z.coerce.number().int().positive().default(DEFAULT_GATEWAY_LIMITS[name]);

/** The gateway's environment (`services/gateway/src/main.ts`; `npm start` composes it). */
export const GatewayEnvSchema = CommonEnvSchema.extend({
  ...AgentAuthorizationEnvSchema.shape,
  // GitLab mode (docs/gitlab-mode.md): KASMAP_GITLAB_URL switches it on.
  ...GitLabModeEnvSchema.shape,
  /**
   * The URL clients call Kasmap by (e.g. `https://kasmap.example.com`), for `Link` headers (its
   * own lists and answers forwarded from GitLab); unset = `X-Forwarded-*` of a trusted proxy, else
   * the scheme and `Host` of each request.
   */
  KASMAP_EXTERNAL_URL: z.preprocess(
    (value) => (typeof value === "string" && value.trim() === "" ? undefined : value),
    z
      .url({ protocol: /^https?$/, error: "must be an http(s) URL such as https://kasmap.example.com" })
      .transform((value) => value.replace(/\/+$/, ""))
      .optional(),
  ),
  /**
   * A streaming replica of the read model's PostgreSQL: reads go there once it has replayed past
   * the last write this gateway acknowledged, the primary (`DATABASE_URL`) answers until then.
   */
  DATABASE_READ_URL: z.preprocess(
    (value) => (typeof value === "string" && value.trim() === "" ? undefined : value),
    z.string().min(1).optional(),
  ),
  KASMAP_HTTP_PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  KASMAP_HTTP_HOST: z.string().min(1).default("127.0.0.1"),
  KASMAP_HTTP_BODY_LIMIT_BYTES: gatewayLimit("bodyLimitBytes"),
  KASMAP_HTTP_REQUEST_TIMEOUT_MS: gatewayLimit("requestTimeoutMs"),
  KASMAP_HTTP_CONNECTION_TIMEOUT_MS: gatewayLimit("connectionTimeoutMs"),
  KASMAP_LIVE_CONNECTIONS_PER_USER: gatewayLimit("liveConnectionsPerUser"),
  /** Readiness warns at this share of the account's JetStream storage limit (issue 7.6). */
  KASMAP_JETSTREAM_STORAGE_WARN_RATIO: z.coerce.number().gt(0).max(1).default(0.8),
  /** ... or past this many bytes, for an account without a storage limit. */
  KASMAP_JETSTREAM_STORAGE_WARN_BYTES: z.coerce.number().int().positive().optional(),
  /** How long a CI job's token works at most after the job was registered (default 24 h). */
  KASMAP_JOB_TOKEN_MAX_LIFETIME_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(31 * 24 * 3600)
    .default(24 * 3600),
  /** The longest a cached read-model row is served (the backstop for a lost change notice). */
  KASMAP_GATEWAY_CACHE_TTL_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  /** All hot-read caches together, MiB (approximate sizes of the cached rows). */
  KASMAP_GATEWAY_CACHE_MAX_MIB: z.coerce.number().int().min(1).max(65_536).default(128),
  /** Comma-separated addresses or CIDRs of proxies whose `X-Forwarded-Proto/Host/Port` are believed. */
  KASMAP_TRUSTED_PROXIES: z.string().optional(),
});
export type GatewayEnv = z.infer<typeof GatewayEnvSchema>;

/**
 * The gateway's options as its environment sets them; `main.ts` and `npm start` add the bus,
 * the database URL, the logger and the NATS warnings.
 */
export function gatewayOptionsFromEnv(
  env: GatewayEnv,
): Omit<GatewayOptions, "bus" | "databaseUrl" | "logger" | "natsWarnings"> {
  return {
    port: env.KASMAP_HTTP_PORT,
    host: env.KASMAP_HTTP_HOST,
    jobTokenMaxLifetimeMs: env.KASMAP_JOB_TOKEN_MAX_LIFETIME_SECONDS * 1000,
    includeDescendants: env.KASMAP_AGENT_AUTHORIZATION_INCLUDE_DESCENDANTS,
    statementTimeoutMs: env.KASMAP_DB_STATEMENT_TIMEOUT_MS,
    cacheTtlMs: env.KASMAP_GATEWAY_CACHE_TTL_SECONDS * 1000,
    ...(env.DATABASE_READ_URL === undefined ? {} : { databaseReadUrl: env.DATABASE_READ_URL }),
    cacheMaxBytes: env.KASMAP_GATEWAY_CACHE_MAX_MIB * 1024 * 1024,
    connectTimeoutMs: env.KASMAP_DB_CONNECT_TIMEOUT_MS,
    bodyLimitBytes: env.KASMAP_HTTP_BODY_LIMIT_BYTES,
    requestTimeoutMs: env.KASMAP_HTTP_REQUEST_TIMEOUT_MS,
    connectionTimeoutMs: env.KASMAP_HTTP_CONNECTION_TIMEOUT_MS,
    liveConnectionsPerUser: env.KASMAP_LIVE_CONNECTIONS_PER_USER,
    externalUrl: externalUrlSettings(env.KASMAP_EXTERNAL_URL, env.KASMAP_TRUSTED_PROXIES),
    jetStreamStorageWarning: {
      ratio: env.KASMAP_JETSTREAM_STORAGE_WARN_RATIO,
      bytes: env.KASMAP_JETSTREAM_STORAGE_WARN_BYTES ?? null,
    },
    ...(env.KASMAP_GITLAB_URL === undefined
      ? {}
      : {
          gitlab: {
            url: env.KASMAP_GITLAB_URL,
            permissionTtlSeconds: env.KASMAP_GITLAB_PERMISSION_TTL_SECONDS,
            timeoutMs: env.KASMAP_GITLAB_TIMEOUT_MS,
            ...(env.KASMAP_EXTERNAL_URL === undefined ? {} : { externalUrl: env.KASMAP_EXTERNAL_URL }),
          },
        }),
    ...(env.KASMAP_GITLAB_URL
      ? {
          gitlabMirror: {
            hookSecret: env.KASMAP_GITLAB_HOOK_SECRET ?? null,
            streamingToken: env.KASMAP_GITLAB_STREAMING_TOKEN ?? null,
          },
        }
      : {}),
  };
}
