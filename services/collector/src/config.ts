import { parseArgs } from "node:util";
import { type NatsClientAuth, natsClientAuthFromEnv } from "@kasmap/bus";
import { CommonEnvSchema, type MetricsEnv, MetricsEnvSchema, parseEnv } from "@kasmap/contracts";
import { z } from "zod";

/**
 * The collector is configured like agentk: the agent token in `KASMAP_AGENT_TOKEN`, a standard
 * kubeconfig (`--kubeconfig`, else `KUBECONFIG`, else in-cluster config), plus Kasmap's own
 * flags. Validated here, once; the rest of the collector takes parsed values.
 */
export const CollectorEnvSchema = CommonEnvSchema.pick({
  NATS_URL: true,
  KASMAP_TOPOLOGY_ROOT: true,
  LOG_LEVEL: true,
  NATS_NKEY_SEED: true,
  NATS_NKEY_SEED_FILE: true,
  NATS_USER: true,
  NATS_PASSWORD: true,
  NATS_TLS_CA_FILE: true,
  NATS_TLS_CERT_FILE: true,
  NATS_TLS_KEY_FILE: true,
})
  .extend(MetricsEnvSchema.shape)
  .extend({
    KASMAP_AGENT_TOKEN: z.string().min(1).optional(),
    KUBECONFIG: z.string().min(1).optional(),
    POD_IP: z.string().min(1).max(45).optional(),
    POD_NAMESPACE: z.string().min(1).max(63).optional(),
    /** Downward API `metadata.name`: the replica's `collector_id` and `pod_name`. */
    POD_NAME: z.string().min(1).max(253).optional(),
    /** Downward API `spec.nodeName`. */
    NODE_NAME: z.string().min(1).max(253).optional(),
    /** Set by Kubernetes in every pod: without POD_NAME, the host name is the pod name. */
    KUBERNETES_SERVICE_HOST: z.string().min(1).optional(),
    /**
     * The source commit the collector was built from (infra/collector.Dockerfile sets it from its
     * `KASMAP_COMMIT` build argument); empty, as an image built without the argument has it, = unset.
     */
    KASMAP_COMMIT: z.string().max(64).optional(),
    KASMAP_CLUSTER_NAME: z.string().min(1).optional(),
    KASMAP_CLUSTER_CONTEXT: z.string().min(1).optional(),
  });

const FlagsSchema = z.object({
  kubeconfig: z.string().min(1).optional(),
  once: z.boolean().default(false),
  "cluster-name": z.string().min(1).optional(),
  "cluster-context": z.string().min(1).optional(),
  "coalesce-ms": z.coerce.number().int().min(0).max(60_000).default(200),
  "heartbeat-seconds": z.coerce.number().int().min(1).max(3600).default(30),
  "settle-seconds": z.coerce.number().int().min(1).max(600).default(15),
});

export type CollectorConfig = {
  natsUrl: string;
  topologyRoot: string;
  logLevel: string;
  agentToken: string | null;
  kubeconfigPath: string | null;
  once: boolean;
  clusterName?: string;
  clusterContext?: string;
  podIp: string | null;
  podNamespace: string | null;
  /** `POD_NAME`, else null (the caller falls back to the host name). */
  podName: string | null;
  nodeName: string | null;
  /** The process runs in a pod (`POD_NAME` or `KUBERNETES_SERVICE_HOST` set). */
  inKubernetes: boolean;
  commit: string | null;
  /** Changes arriving within this window are published as one snapshot (milliseconds). */
  coalesceMs: number;
  heartbeatMs: number;
  /**
   * How long the first snapshot waits for sources that have not answered (milliseconds). With
   * `--once`, after this the program prints what it has, or fails when nodes or /version never
   * answered.
   */
  settleTimeoutMs: number;
  /** NATS nkey seed (`SU…`) of this agent's NATS user; null when the server needs none. Never log it. */
  nkeySeed: string | null;
  /** Everything else the NATS connection needs: user/password and TLS files, when given. */
  natsAuth: NatsClientAuth;
  /** Where `GET /metrics` is served (`KASMAP_METRICS_PORT`, `KASMAP_METRICS_HOST`); no port: not served. */
  metrics: MetricsEnv;
};

export const USAGE = `Usage: kasmap-collector [--kubeconfig PATH] [--once] [--cluster-name NAME] [--cluster-context CONTEXT]
                        [--coalesce-ms 200] [--heartbeat-seconds 30] [--settle-seconds 15]
Environment: KASMAP_AGENT_TOKEN (required unless --once), NATS_URL, NATS_NKEY_SEED or NATS_NKEY_SEED_FILE,
             NATS_TLS_CA_FILE (NATS_TLS_CERT_FILE, NATS_TLS_KEY_FILE), KUBECONFIG,
             POD_IP, POD_NAMESPACE, POD_NAME, NODE_NAME (downward API), KASMAP_COMMIT,
             KASMAP_METRICS_PORT (GET /metrics; unset: not served), KASMAP_METRICS_HOST`;

export function parseCollectorConfig(argv: string[], env: NodeJS.ProcessEnv): CollectorConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: "string" },
      once: { type: "boolean" },
      "cluster-name": { type: "string" },
      "cluster-context": { type: "string" },
      "coalesce-ms": { type: "string" },
      "heartbeat-seconds": { type: "string" },
      "settle-seconds": { type: "string" },
    },
    strict: true,
  });
  const flags = FlagsSchema.parse(values);
  const e = parseEnv(CollectorEnvSchema, env);
  if (!flags.once && !e.KASMAP_AGENT_TOKEN) {
    throw new Error("KASMAP_AGENT_TOKEN is required (the agent token, glagent-…), unless --once");
  }
  const natsAuth = natsClientAuthFromEnv(e);
  const clusterName = flags["cluster-name"] ?? e.KASMAP_CLUSTER_NAME;
  const clusterContext = flags["cluster-context"] ?? e.KASMAP_CLUSTER_CONTEXT;
  return {
    natsUrl: e.NATS_URL,
    topologyRoot: e.KASMAP_TOPOLOGY_ROOT,
    logLevel: e.LOG_LEVEL,
    agentToken: e.KASMAP_AGENT_TOKEN ?? null,
    kubeconfigPath: flags.kubeconfig ?? e.KUBECONFIG ?? null,
    once: flags.once,
    ...(clusterName ? { clusterName } : {}),
    ...(clusterContext ? { clusterContext } : {}),
    podIp: e.POD_IP ?? null,
    podNamespace: e.POD_NAMESPACE ?? null,
    podName: e.POD_NAME ?? null,
    nodeName: e.NODE_NAME ?? null,
    inKubernetes: e.POD_NAME !== undefined || e.KUBERNETES_SERVICE_HOST !== undefined,
    commit: e.KASMAP_COMMIT === undefined || e.KASMAP_COMMIT === "" ? null : e.KASMAP_COMMIT,
    coalesceMs: flags["coalesce-ms"],
    heartbeatMs: flags["heartbeat-seconds"] * 1000,
    settleTimeoutMs: flags["settle-seconds"] * 1000,
    nkeySeed: natsAuth.nkeySeed ?? null,
    natsAuth,
    metrics: { KASMAP_METRICS_PORT: e.KASMAP_METRICS_PORT, KASMAP_METRICS_HOST: e.KASMAP_METRICS_HOST },
  };
}
