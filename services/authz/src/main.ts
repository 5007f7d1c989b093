import { DEFAULT_COMMAND_SERVING_LIMITS } from "@kasmap/bus";
import { runDatabaseService } from "@kasmap/runtime/database-service";
import { AuthzEnvSchema, gitlabAgentTokenOptionsFromEnv, startAuthzService } from "./index.ts";

/** Runs the authz service until SIGTERM/SIGINT. */
await runDatabaseService({
  name: "authz",
  envSchema: AuthzEnvSchema,
  start: (options, env) => {
    const gitlabAgentTokens = gitlabAgentTokenOptionsFromEnv(env);
    return startAuthzService({
      ...options,
      gitlabMode: env.KASMAP_GITLAB_URL !== undefined,
      agentTokenLeaseSeconds: env.KASMAP_AGENT_TOKEN_LEASE_SECONDS,
      outboxRetentionSeconds: env.KASMAP_AUTHZ_OUTBOX_RETENTION_SECONDS,
      commandLimits: {
        users: {
          ...DEFAULT_COMMAND_SERVING_LIMITS.users,
          maxInFlight: env.KASMAP_AUTHZ_COMMANDS_IN_FLIGHT,
          maxWaiting: env.KASMAP_AUTHZ_COMMANDS_WAITING,
        },
        collectors: {
          ...DEFAULT_COMMAND_SERVING_LIMITS.collectors,
          maxInFlight: env.KASMAP_AUTHZ_AUTHENTICATIONS_IN_FLIGHT,
          maxWaiting: env.KASMAP_AUTHZ_AUTHENTICATIONS_WAITING,
        },
      },
      ...(env.KASMAP_ADMIN_TOKEN ? { adminToken: env.KASMAP_ADMIN_TOKEN } : {}),
      ...(gitlabAgentTokens ? { gitlabAgentTokens } : {}),
    });
  },
});
