import { z } from "zod";
import {
  createTopology,
  DEFAULT_AUDIT_RETENTION_DAYS,
  DEFAULT_STREAM_REPLICAS,
  DEFAULT_TOPOLOGY_ROOT,
  STREAM_REPLICA_COUNTS,
  type Topology,
} from "./topology.ts";

/**
 * Environment every service reads, validated at start-up: a bad value stops the service with
 * a message naming the variable, rather than failing later.
 */
export const CommonEnvSchema = z.object({
  NATS_URL: z.string().min(1).default("nats://127.0.0.1:4222"),
  DATABASE_URL: z.string().min(1).default("postgres://postgres@127.0.0.1:5432/kasmap"),
  /** First token of every subject and stream name; change only to run two systems on one server. */
  KASMAP_TOPOLOGY_ROOT: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,31}$/)
    .default(DEFAULT_TOPOLOGY_ROOT),
  KASMAP_AUDIT_RETENTION_DAYS: z.coerce.number().int().positive().default(DEFAULT_AUDIT_RETENTION_DAYS),
  /**
   * Copies of every stream on a JetStream cluster (1, 3 or 5; 3 on a 3-node cluster). Applied
   * where the streams are declared, also to existing streams (an R1 stream is scaled up).
   */
  KASMAP_STREAM_REPLICAS: z.coerce
    .number()
    .pipe(z.literal(STREAM_REPLICA_COUNTS, { error: `must be one of ${STREAM_REPLICA_COUNTS.join(", ")}` }))
    .default(DEFAULT_STREAM_REPLICAS),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** PostgreSQL `statement_timeout` of every pool, ms; a statement past it is cancelled. */
  KASMAP_DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  /** How long getting a PostgreSQL connection may take, ms; past it the database counts as down. */
  KASMAP_DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
  /** NATS nkey seed (`SU…`) when the server requires nkey users (infra/nats/render-authorization.ts). */
  NATS_NKEY_SEED: z.string().min(1).optional(),
  /** Path of a file holding the seed (a mounted Secret: stays out of process listings); exclusive with NATS_NKEY_SEED. */
  NATS_NKEY_SEED_FILE: z.string().min(1).optional(),
  /** User and password, for a server configured with them instead of nkeys. */
  NATS_USER: z.string().min(1).optional(),
  NATS_PASSWORD: z.string().optional(),
  /** CA certificate (PEM file) that signed the NATS server's certificate, when not a public CA. */
  NATS_TLS_CA_FILE: z.string().min(1).optional(),
  /** Client certificate and key (PEM files) for a server that verifies clients. */
  NATS_TLS_CERT_FILE: z.string().min(1).optional(),
  NATS_TLS_KEY_FILE: z.string().min(1).optional(),
});
export type CommonEnv = z.infer<typeof CommonEnvSchema>;

/** The topology (subjects, streams with their retention and replicas) the environment names. */
export function topologyFromEnv(
  env: Pick<CommonEnv, "KASMAP_TOPOLOGY_ROOT" | "KASMAP_AUDIT_RETENTION_DAYS" | "KASMAP_STREAM_REPLICAS">,
): Topology {
  return createTopology(
    env.KASMAP_TOPOLOGY_ROOT,
    env.KASMAP_AUDIT_RETENTION_DAYS,
    env.KASMAP_STREAM_REPLICAS,
  );
}

/**
 * Where a service without an HTTP server of its own (authz, projection, gitlab-sync, collector)
 * serves Prometheus' `GET /metrics`. Unset: not served (the gateway serves its own on its HTTP
 * port, and `npm start` serves every in-process service's there). `0`: a port the system picks,
 * logged at start. Bound on `KASMAP_METRICS_HOST`, default every interface (Prometheus scrapes
 * the pod's address; the metrics hold no secret).
 */
export const MetricsEnvSchema = z.object({
  KASMAP_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  KASMAP_METRICS_HOST: z.string().min(1).default("0.0.0.0"),
});
export type MetricsEnv = z.infer<typeof MetricsEnvSchema>;

/**
 * GitLab's `agent_authorization_include_descendants` (default on, as on GitLab.com): whether a root
 * group in common with the agent's project suffices for `ci_access`. `true`/`false`/`1`/`0` in any
 * case; empty means the default. The one place the variable is read: the gateway answers the
 * allowed-agents queries with it, and `npm start` passes it to the gateway it runs.
 */
export const AgentAuthorizationEnvSchema = z.object({
  KASMAP_AGENT_AUTHORIZATION_INCLUDE_DESCENDANTS: z.preprocess(
    (value) => (typeof value === "string" ? value.trim().toLowerCase() || undefined : value),
    z
      .enum(["true", "false", "1", "0"])
      .default("true")
      .transform((value) => value === "true" || value === "1"),
  ),
});

/** Parses `env` with `schema`, or throws one error listing every bad variable. */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
  throw new Error(`invalid environment: ${problems}`);
}

/** A comma-separated list, trimmed, empties dropped; unset or empty = null (all). */
const CommaList = z.preprocess(
  (value) => {
    if (typeof value !== "string") return value;
    const items = value
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item.length > 0);
    return items.length === 0 ? undefined : items;
  },
  z.array(z.string().min(1).max(255)).nullable().default(null),
);

const Seconds = (fallback: number) => z.coerce.number().int().positive().max(86_400).default(fallback);

/**
 * GitLab mode (issue 9, docs/gitlab-mode.md): `KASMAP_GITLAB_URL` switches it on; without it
 * Kasmap keeps its own registry. One declaration, read by the sync service, the gateway, authz
 * and `npm start`.
 */
export const GitLabModeEnvSchema = z.object({
  KASMAP_GITLAB_URL: z.preprocess(
    (value) => (typeof value === "string" && value.trim() === "" ? undefined : value),
    z
      .url({ protocol: /^https?$/, error: "must be an http(s) URL such as https://gitlab.example.com" })
      .transform((value) => value.replace(/\/+$/, ""))
      .optional(),
  ),
  /** A token with `read_api` that sees what should be mirrored (an admin's for a whole instance). */
  KASMAP_GITLAB_TOKEN: z.string().min(1).optional(),
  /** Top-level group paths to mirror; unset = every group the token can see. */
  KASMAP_GITLAB_ROOT_GROUPS: CommaList,
  /** What GitLab sends in `X-Gitlab-Token` with system hooks and webhooks. */
  KASMAP_GITLAB_HOOK_SECRET: z.string().min(1).optional(),
  /** The verification token GitLab shows for an audit event streaming destination. */
  KASMAP_GITLAB_STREAMING_TOKEN: z.string().min(1).optional(),
  KASMAP_GITLAB_RECONCILE_SECONDS: Seconds(300),
  KASMAP_GITLAB_PERMISSION_TTL_SECONDS: Seconds(60),
  /** How long one request to GitLab may take, ms. */
  KASMAP_GITLAB_TIMEOUT_MS: z.coerce.number().int().positive().max(600_000).default(10_000),
});
export type GitLabModeEnv = z.infer<typeof GitLabModeEnvSchema>;
