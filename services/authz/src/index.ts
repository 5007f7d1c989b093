import {
  type CommandHandlers,
  type CommandLaneName,
  type CommandLaneStatus,
  type CommandServingLimits,
  DEFAULT_COMMAND_SERVING_LIMITS,
  ensureStreams,
  maxEventBodyBytes,
  serveCommands,
} from "@kasmap/bus";
import { type AuthzCommandName, KasmapError } from "@kasmap/contracts";
import { createDatabase, isDatabaseUnavailable, migrateSchema } from "@kasmap/db";
import { createLogger } from "@kasmap/logging";
import type { DatabaseServiceOptions } from "@kasmap/runtime/database-service";
import { instrumentBus, Registry } from "@kasmap/runtime/metrics";
import { registerAuthzMetrics } from "./authz-metrics.ts";
import { backfillPersonalNamespaces, bootstrapAdmin } from "./bootstrap.ts";
import { putAgentConfig } from "./commands/agent-config.ts";
import { authenticateAgentToken, createAgentToken, revokeAgentToken } from "./commands/agent-tokens.ts";
import { createAgent, deleteAgent } from "./commands/agents.ts";
// Issue 9 item 5 (collector tokens).
import { createCollectorToken, revokeCollectorToken } from "./commands/collector-tokens.ts";
import type { CommandDeps, CommandHandler } from "./commands/command-deps.ts";
import { createGroup } from "./commands/groups.ts";
import { createJob, finishJob } from "./commands/jobs.ts";
import { setMembership } from "./commands/memberships.ts";
import { keepMirroredAgents, putMirroredAgent, putMirroredAgentConfig } from "./commands/mirror-agents.ts";
import { putMirroredGroup, putMirroredGroups } from "./commands/mirror-groups.ts";
import { putMirroredProject, putMirroredProjects } from "./commands/mirror-projects.ts";
import { beginMirrorWalk, removeMirrored, sweepMirrored } from "./commands/mirror-removals.ts";
import { reportMirrorStatus } from "./commands/mirror-status.ts";
import { reportOutboxStatus } from "./commands/outbox-status.ts";
import { createProject } from "./commands/projects.ts";
import { transferGroup, transferProject } from "./commands/transfers.ts";
import {
  createPersonalAccessToken,
  createUser,
  revokePersonalAccessToken,
  setUserState,
} from "./commands/users.ts";
import { floodReport } from "./flood-report.ts";
import {
  createGitLabAgentTokenVerifier,
  type GitLabAgentTokenOptions,
} from "./gitlab-agent-token-verifier.ts";
import { lapseSweepIntervalMs, startLapseSweep } from "./lapse-sweep.ts";
import { createOutboxPublisher, type OutboxStatus } from "./outbox.ts";
import {
  createRefusedTokenCache,
  DEFAULT_REFUSED_TOKEN_CACHE,
  type RefusedTokenCacheOptions,
} from "./refused-token-cache.ts";
import { AUTHZ_SCHEMA, authzMigrations } from "./store/migrations/index.ts";
import type { AuthzDatabase } from "./store/schema.ts";
import { createUnitOfWorkRunner } from "./unit-of-work.ts";

export { type AuthzEnv, AuthzEnvSchema } from "./authz-env.ts";
export { AUTHZ_OUTBOX_METRICS, registerAuthzMetrics } from "./authz-metrics.ts";
export { gitlabAgentTokenOptionsFromEnv } from "./gitlab-agent-token-env.ts";
export type { GitLabAgentTokenOptions } from "./gitlab-agent-token-verifier.ts";
export type { OutboxStatus } from "./outbox.ts";
// For bench/allowed-agents.bench.ts, which times the production subtree move on a large registry.
export { findGroup } from "./store/entities.ts";
export { AUTHZ_SCHEMA, authzMigrations } from "./store/migrations/index.ts";
export type { AuthzDatabase, AuthzTx } from "./store/schema.ts";
export { type GroupMove, moveGroupSubtree } from "./store/subtree-moves.ts";

/** The service keeps its state in schema `authz` of the database at `databaseUrl`. */
export type AuthzServiceOptions = DatabaseServiceOptions & {
  /** When set, `root` (admin) exists with a personal access token of this value. */
  adminToken?: string;
  /** GitLab mode: GitLab decides access, the gateway asks it (`CommandDeps.gitlabMode`). */
  gitlabMode?: boolean;
  /**
   * GitLab mode with GitLab's KAS secret (`KASMAP_GITLAB_KAS_SECRET`): GitLab's agent tokens are
   * verified by GitLab's internal `agent_info` API (docs/gitlab-mode.md).
   */
  gitlabAgentTokens?: GitLabAgentTokenOptions;
  /** The lease of Kasmap's own tokens, seconds (`KASMAP_AGENT_TOKEN_LEASE_SECONDS`, default 60). */
  agentTokenLeaseSeconds?: number;
  /**
   * The bounds of command serving per lane (`serveCommands`; `KASMAP_AUTHZ_*_IN_FLIGHT` and
   * `…_WAITING`); default `DEFAULT_COMMAND_SERVING_LIMITS`.
   */
  commandLimits?: CommandServingLimits;
  /** How long and how many `agent_token.authenticate` refusals are kept; default 10 s, 10,000. */
  refusedTokenCache?: RefusedTokenCacheOptions;
  /**
   * How long a published row stays in `authz.outbox`, seconds (`KASMAP_AUTHZ_OUTBOX_RETENTION_SECONDS`);
   * default `DEFAULT_OUTBOX_RETENTION_MS` (one hour).
   */
  outboxRetentionSeconds?: number;
};

export type AuthzService = {
  /**
   * Outbox rows waiting to be published and rows set aside for good (never publishable), for
   * readiness and metrics; `set_aside` above 0 needs an operator (see the log line per row).
   */
  outboxStatus(): Promise<OutboxStatus>;
  /** Each command lane's handlers in flight, requests waiting and requests refused as busy. */
  commandLanes(): Record<CommandLaneName, CommandLaneStatus>;
  /** Refusals of `agent_token.authenticate` kept, and how many were answered from them. */
  refusedTokens(): { entries: number; hits: number };
  stop(): Promise<void>;
};

const OUTBOX_RELAY_INTERVAL_MS = 1_000;
/** `KASMAP_AGENT_TOKEN_LEASE_SECONDS`' default: the same minute as GitLab mode's permission TTL. */
const DEFAULT_AGENT_TOKEN_LEASE_SECONDS = 60;

const HANDLERS: { [N in AuthzCommandName]: CommandHandler<N> } = {
  "group.create": createGroup,
  "group.transfer": transferGroup,
  "project.create": createProject,
  "project.transfer": transferProject,
  "user.create": createUser,
  "membership.set": setMembership,
  "personal_access_token.create": createPersonalAccessToken,
  "personal_access_token.revoke": revokePersonalAccessToken,
  "user.set_state": setUserState,
  "agent.create": createAgent,
  "agent.delete": deleteAgent,
  "agent_token.create": createAgentToken,
  "agent_token.revoke": revokeAgentToken,
  "agent_token.authenticate": authenticateAgentToken,
  // Issue 9 item 5 (collector tokens).
  "collector_token.create": createCollectorToken,
  "collector_token.revoke": revokeCollectorToken,
  "agent_config.put": putAgentConfig,
  "job.create": createJob,
  "job.finish": finishJob,
  "outbox.status": reportOutboxStatus,
  "mirror.group.put": putMirroredGroup,
  "mirror.project.put": putMirroredProject,
  "mirror.groups.put": putMirroredGroups,
  "mirror.projects.put": putMirroredProjects,
  "mirror.agent.put": putMirroredAgent,
  "mirror.agent_config.put": putMirroredAgentConfig,
  "mirror.remove": removeMirrored,
  "mirror.walk.begin": beginMirrorWalk,
  "mirror.agents.keep": keepMirroredAgents,
  "mirror.sweep": sweepMirrored,
  "mirror.status": reportMirrorStatus,
};

/**
 * Binds every handler to `deps` and tracks the commands in flight, so `stop()` can wait for
 * them before closing the pool they use.
 */
function bindHandlers(deps: CommandDeps, inFlight: Set<Promise<unknown>>): CommandHandlers {
  const bound: Partial<Record<AuthzCommandName, unknown>> = {};
  for (const name of Object.keys(HANDLERS) as AuthzCommandName[]) {
    const handler = HANDLERS[name] as CommandHandler<AuthzCommandName>;
    bound[name] = (request: Parameters<typeof handler>[1]) => {
      // A database outage is `unavailable` (the gateway answers 503 with Retry-After), not an
      // internal error: the command may simply be retried later.
      const running = handler(deps, request).catch((error: unknown) => {
        throw isDatabaseUnavailable(error)
          ? new KasmapError("unavailable", "authz database unavailable", { cause: error })
          : error;
      });
      const tracked = running.catch(() => {}).finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      return running;
    };
  }
  return bound as CommandHandlers;
}

/**
 * Starts the authz service: declares the streams (authz publishes every registry event; in
 * production it is the only NATS identity allowed to declare them), migrates schema `authz`, publishes outbox leftovers (a previous
 * process may have died between commit and publish), bootstraps the admin, gives users
 * without one a personal namespace, then serves
 * `<root>.cmd.authz.>` and relays the outbox every second until `stop()`. Its metrics
 * (`registerAuthzMetrics`, `instrumentBus`) go to `options.metrics`.
 */
export async function startAuthzService(options: AuthzServiceOptions): Promise<AuthzService> {
  const logger = options.logger ?? createLogger("authz");
  await ensureStreams(options.bus);
  const db = createDatabase<AuthzDatabase>({
    url: options.databaseUrl,
    applicationName: "kasmap-authz",
    ...(options.statementTimeoutMs === undefined ? {} : { statementTimeoutMs: options.statementTimeoutMs }),
    ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
  });
  try {
    await migrateSchema(db, AUTHZ_SCHEMA, authzMigrations);
    const outbox = createOutboxPublisher(db, options.bus, logger, {
      ...(options.outboxRetentionSeconds === undefined
        ? {}
        : { retentionMs: options.outboxRetentionSeconds * 1_000 }),
    });
    await outbox.flush();
    const run = createUnitOfWorkRunner(db, options.bus.topology, outbox, (type) =>
      maxEventBodyBytes(options.bus, type),
    );
    if (options.adminToken) await bootstrapAdmin(run, options.adminToken);
    await backfillPersonalNamespaces(run);
    const deps: CommandDeps = {
      db,
      run,
      logger,
      gitlabMode: options.gitlabMode ?? false,
      agentTokenLeaseSeconds: options.agentTokenLeaseSeconds ?? DEFAULT_AGENT_TOKEN_LEASE_SECONDS,
      refusedTokens: createRefusedTokenCache(options.refusedTokenCache ?? DEFAULT_REFUSED_TOKEN_CACHE),
      ...(options.gitlabAgentTokens
        ? { gitlabAgentTokens: createGitLabAgentTokenVerifier(options.gitlabAgentTokens, logger) }
        : {}),
    };
    const inFlight = new Set<Promise<unknown>>();
    const registry = options.metrics ?? new Registry();
    // Read at scrape time, once `subscription` exists.
    const metrics = registerAuthzMetrics(
      registry,
      () => outbox.status(),
      () => subscription.lanes(),
    );
    const stopBusMetrics = instrumentBus(registry, options.bus, "authz");
    const floods = floodReport(logger);
    const subscription = serveCommands(
      options.bus,
      bindHandlers(deps, inFlight),
      (name, error) => logger.error({ err: error, command: name }, "command failed"),
      metrics.commandAnswered,
      {
        limits: options.commandLimits ?? DEFAULT_COMMAND_SERVING_LIMITS,
        onShed: (lane, command, reason, sender) => {
          metrics.commandShed(lane, command, reason);
          if (reason === "sender_full") floods.note(sender);
        },
      },
    );
    const relay = outbox.startRelay(OUTBOX_RELAY_INTERVAL_MS);
    const lapses = options.gitlabAgentTokens
      ? startLapseSweep(deps, lapseSweepIntervalMs(options.gitlabAgentTokens.ttlSeconds))
      : null;
    logger.info("authz service started");
    return {
      outboxStatus: () => outbox.status(),
      commandLanes: () => subscription.lanes(),
      refusedTokens: () => deps.refusedTokens.status(),
      async stop() {
        subscription.unsubscribe();
        await lapses?.stop();
        await Promise.all(inFlight);
        await relay.stop();
        stopBusMetrics();
        await db.destroy();
      },
    };
  } catch (error) {
    await db.destroy();
    throw error;
  }
}
