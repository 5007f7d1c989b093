import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { AuthzEnvSchema, gitlabAgentTokenOptionsFromEnv, startAuthzService } from "@kasmap/authz-service";
import { type Bus, connectBus, natsClientAuthFromEnv } from "@kasmap/bus";
import { generateToken, parseEnv, TOKEN_PREFIXES, topologyFromEnv } from "@kasmap/contracts";
import { GatewayEnvSchema, gatewayOptionsFromEnv, startGateway } from "@kasmap/gateway-service";
import { GitLabSyncEnvSchema, startGitLabSync } from "@kasmap/gitlab-sync-service";
import { createLogger, type Logger } from "@kasmap/logging";
import {
  collectorLimitsFromEnv,
  ProjectionEnvSchema,
  startProjectionService,
} from "@kasmap/projection-service";
import { runService, type StopHandle } from "@kasmap/runtime";
import { createProgramRegistry, type Registry } from "@kasmap/runtime/metrics";
import { z } from "zod";
import { DEMO_AGENT_POD, startDemoCluster } from "./demo-cluster.ts";
import { registerDemoAgent } from "./demo-registration.ts";
import { ensureNats } from "./ensure-nats.ts";
import { ensurePostgres } from "./ensure-postgres.ts";

/**
 * `npm start`: the whole system on one machine, on embedded defaults. Services run in this
 * process (each is also runnable alone: `services/<name>/src/main.ts`); the collector runs as
 * its own program, as it would in a cluster. With `KASMAP_GITLAB_URL` set (GitLab mode, issue 9)
 * the GitLab sync service runs too and nothing of Kasmap's own is registered: no demo group,
 * project or agent, no collector — GitLab's agents are mirrored instead.
 */
const StartEnvSchema = AuthzEnvSchema.extend(ProjectionEnvSchema.shape)
  .extend(GatewayEnvSchema.shape)
  .extend(GitLabSyncEnvSchema.shape)
  .extend({
    // Unset: npm start runs (or finds) its own NATS server and PostgreSQL.
    NATS_URL: z.string().optional(),
    DATABASE_URL: z.string().optional(),
    KUBECONFIG: z.string().optional(),
    KASMAP_STATE_DIR: z.string().default(".kasmap"),
    /** Port of the NATS server npm start runs itself (NATS_URL unset and nothing answering there). */
    KASMAP_NATS_PORT: z.coerce.number().int().min(1).max(65535).default(4222),
  });
type StartEnv = z.infer<typeof StartEnvSchema>;

const root = fileURLToPath(new URL("../..", import.meta.url));

/** GitLab's KAS secret, when given: collectors may present their GitLab agent token. */
function gitlabAgentTokensOption(env: StartEnv) {
  const gitlabAgentTokens = gitlabAgentTokenOptionsFromEnv(env);
  return gitlabAgentTokens ? { gitlabAgentTokens } : {};
}

function adminToken(env: StartEnv, stateDir: string): string {
  if (env.KASMAP_ADMIN_TOKEN) return env.KASMAP_ADMIN_TOKEN;
  // Generated once per checkout and kept in .kasmap/ (git-ignored), never a built-in default.
  const file = `${stateDir}/admin-token`;
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const token = generateToken(TOKEN_PREFIXES.personalAccess);
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

async function start(env: StartEnv, logger: Logger): Promise<StopHandle> {
  const stateDir = `${root}${env.KASMAP_STATE_DIR}`;
  mkdirSync(stateDir, { recursive: true });
  const nats = await ensureNats({
    configuredUrl: env.NATS_URL,
    credentials: natsClientAuthFromEnv(env),
    stateDir,
    logger,
    topologyRoot: env.KASMAP_TOPOLOGY_ROOT,
    port: env.KASMAP_NATS_PORT,
  });
  const postgres = await ensurePostgres(env.DATABASE_URL, stateDir, logger);
  // The services' own settings, on the servers npm start found or runs.
  const serviceEnv = { ...env, NATS_URL: nats.url, DATABASE_URL: postgres.url };
  const topology = topologyFromEnv(env);
  // One connection per service, each as its own NATS user (on npm start's own server).
  const connectAs = (identity: "authz" | "projection" | "gateway" | "sync") =>
    connectBus({ url: nats.url, name: `kasmap-${identity}`, topology, ...nats.serviceAuth[identity] });
  // Authz starts first: it declares the streams, which the others' NATS users may only read.
  const authzBus = await connectAs("authz");
  const projectionBus = await connectAs("projection");
  const gatewayBus = await connectAs("gateway");
  // GitLab mode: GitLab decides access, and an admin of Kasmap's own would hold a namespace id
  // that one of GitLab's may need.
  const mode: { gitlabUrl: string } | { adminToken: string } = env.KASMAP_GITLAB_URL
    ? { gitlabUrl: env.KASMAP_GITLAB_URL }
    : { adminToken: adminToken(env, stateDir) };

  // One process, one registry: every service registers its own `kasmap_<service>_…` metrics (and
  // its NATS connection's, labelled `service`) here, and the gateway serves it at its /metrics.
  const metrics = createProgramRegistry();
  const authz = await startAuthzService({
    bus: authzBus,
    databaseUrl: postgres.url,
    statementTimeoutMs: env.KASMAP_DB_STATEMENT_TIMEOUT_MS,
    connectTimeoutMs: env.KASMAP_DB_CONNECT_TIMEOUT_MS,
    ...("adminToken" in mode ? { adminToken: mode.adminToken } : {}),
    gitlabMode: "gitlabUrl" in mode,
    agentTokenLeaseSeconds: env.KASMAP_AGENT_TOKEN_LEASE_SECONDS,
    ...gitlabAgentTokensOption(env),
    logger: logger.child({ service: "authz" }),
    metrics,
  });
  const projection = await startProjectionService({
    bus: projectionBus,
    databaseUrl: postgres.url,
    statementTimeoutMs: env.KASMAP_DB_STATEMENT_TIMEOUT_MS,
    connectTimeoutMs: env.KASMAP_DB_CONNECT_TIMEOUT_MS,
    collectorLimits: collectorLimitsFromEnv(serviceEnv),
    logger: logger.child({ service: "projection" }),
    metrics,
  });
  const gateway = await startGateway({
    ...gatewayOptionsFromEnv(serviceEnv),
    bus: gatewayBus,
    databaseUrl: postgres.url,
    logger: logger.child({ service: "gateway" }),
    natsWarnings: nats.anonymousAccessWarning ? [nats.anonymousAccessWarning] : [],
    metrics,
  });

  const stops: Array<() => Promise<void>> = [];
  if ("gitlabUrl" in mode) {
    const syncBus = await connectAs("sync");
    const sync = await startGitLabMode(env, mode.gitlabUrl, syncBus, logger, metrics);
    stops.push(async () => {
      await sync.stop();
      await syncBus.close();
    });
    process.stdout.write(
      [
        "",
        `Kasmap is running beside GitLab at ${mode.gitlabUrl} (GitLab mode: its groups, projects and agents are mirrored).`,
        `  Gateway:     ${gateway.url}/api/v4   (OpenAPI: ${gateway.url}/api/v4/openapi.json)`,
        `  Metrics:     ${gateway.url}/metrics   (every service of this process)`,
        `  Console:     ${gateway.url}/-/console   (sign in with a GitLab token)`,
        `  Hooks:       ${gateway.url}/api/v4/-/gitlab/hooks   (X-Gitlab-Token: KASMAP_GITLAB_HOOK_SECRET)`,
        `  Audit:       ${gateway.url}/api/v4/-/gitlab/audit-events   (KASMAP_GITLAB_STREAMING_TOKEN)`,
        ...(nats.anonymousAccessWarning ? [`  WARNING:     ${nats.anonymousAccessWarning}`] : []),
        "",
      ].join("\n"),
    );
  } else {
    const running = { gateway, token: mode.adminToken, stateDir, nats, topologyRoot: topology.root };
    stops.push(await startDemo(env, running));
  }

  return {
    async stop() {
      for (const stop of stops) await stop();
      await gateway.stop();
      await projection.stop();
      await authz.stop();
      for (const bus of [gatewayBus, projectionBus, authzBus]) await bus.close();
      await postgres.stop();
      await nats.stop();
    },
  };
}

/** GitLab mode: the sync service on its own NATS user, with the environment's GitLab settings. */
async function startGitLabMode(
  env: StartEnv,
  gitlabUrl: string,
  bus: Bus,
  logger: Logger,
  metrics: Registry,
): Promise<StopHandle> {
  if (!env.KASMAP_GITLAB_TOKEN)
    throw new Error("invalid environment: KASMAP_GITLAB_TOKEN is required with KASMAP_GITLAB_URL");
  return startGitLabSync({
    bus,
    gitlabUrl,
    gitlabToken: env.KASMAP_GITLAB_TOKEN,
    rootGroups: env.KASMAP_GITLAB_ROOT_GROUPS,
    reconcileSeconds: env.KASMAP_GITLAB_RECONCILE_SECONDS,
    timeoutMs: env.KASMAP_GITLAB_TIMEOUT_MS,
    logger: logger.child({ service: "gitlab-sync" }),
    metrics,
  });
}

/**
 * Standalone: the demo group, project and agent registered through the gateway, a simulated
 * cluster unless KUBECONFIG names one, and the collector as its own program.
 */
async function startDemo(
  env: StartEnv,
  running: {
    gateway: { url: string };
    token: string;
    stateDir: string;
    nats: Awaited<ReturnType<typeof ensureNats>>;
    topologyRoot: string;
  },
): Promise<() => Promise<void>> {
  const { gateway, token, stateDir, nats } = running;
  const stops: Array<() => Promise<void>> = [];
  let demo = "";
  let kubeconfig = env.KUBECONFIG;
  const collectorEnv: Record<string, string> = {};
  if (!kubeconfig) {
    kubeconfig = `${stateDir}/demo-kubeconfig`;
    const cluster = await startDemoCluster(kubeconfig);
    stops.push(cluster.stop);
    collectorEnv.POD_IP = DEMO_AGENT_POD.ip;
    collectorEnv.POD_NAMESPACE = DEMO_AGENT_POD.namespace;
    demo = ` (simulated demo cluster at ${cluster.url})`;
  }
  const registered = await registerDemoAgent(gateway.url, token);
  const collector = spawn(process.execPath, [`${root}services/collector/bin/kasmap-collector.mjs`], {
    env: {
      ...process.env,
      ...collectorEnv,
      ...(await nats.collectorEnv(registered.agentId)),
      NATS_URL: nats.url,
      KUBECONFIG: kubeconfig,
      KASMAP_AGENT_TOKEN: registered.agentToken,
      KASMAP_TOPOLOGY_ROOT: running.topologyRoot,
    },
    stdio: ["ignore", "inherit", "inherit"],
  });

  const agentUrl = `${gateway.url}/api/v4/projects/${encodeURIComponent(registered.projectPath)}/cluster_agents/${registered.agentId}?with_cluster_info=true`;
  process.stdout.write(
    [
      "",
      `Kasmap is running${demo}.`,
      `  Gateway:     ${gateway.url}/api/v4   (OpenAPI: ${gateway.url}/api/v4/openapi.json)`,
      `  Metrics:     ${gateway.url}/metrics   (authz, projection, gateway; the collector's on KASMAP_METRICS_PORT if set)`,
      `  Console:     ${gateway.url}/-/console   (sign in with the admin token)`,
      `  Admin token: ${token}`,
      ...(nats.anonymousAccessWarning ? [`  WARNING:     ${nats.anonymousAccessWarning}`] : []),
      "  Try:",
      `    curl -s -H "PRIVATE-TOKEN: ${token}" '${agentUrl}'`,
      "",
    ].join("\n"),
  );

  return async () => {
    collector.kill("SIGTERM");
    for (const stop of stops) await stop();
  };
}

await runService({
  name: "kasmap",
  config: () => parseEnv(StartEnvSchema),
  logger: (env) => createLogger("kasmap", env.LOG_LEVEL),
  run: start,
});
