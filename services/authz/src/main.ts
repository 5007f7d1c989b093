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
      ...(env.KASMAP_ADMIN_TOKEN ? { adminToken: env.KASMAP_ADMIN_TOKEN } : {}),
      ...(gitlabAgentTokens ? { gitlabAgentTokens } : {}),
    });
  },
});
