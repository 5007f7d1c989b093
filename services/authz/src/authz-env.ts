import { CommonEnvSchema, GitLabModeEnvSchema, MetricsEnvSchema } from "@kasmap/contracts";
import { DEFAULT_OUTBOX_RETENTION_MS } from "@kasmap/runtime/outbox";
import { z } from "zod";

/** The authz service's environment (`services/authz/src/main.ts`; `npm start` composes it). */
export const AuthzEnvSchema = CommonEnvSchema.extend(MetricsEnvSchema.shape).extend({
  /** Token of the bootstrap admin `root`; unset = no admin is created. */
  KASMAP_ADMIN_TOKEN: z.string().min(20).optional(),
  /** Set: GitLab mode (GitLab decides access; docs/gitlab-mode.md). */
  KASMAP_GITLAB_URL: GitLabModeEnvSchema.shape.KASMAP_GITLAB_URL,
  /**
   * Path of GitLab's KAS secret file (`gitlab_kas.secret_file`, e.g. `.gitlab_kas_secret`), GitLab
   * mode only: collectors may then present their agent's own GitLab agent token, which authz
   * verifies with GitLab's internal `agent_info` API (gitlab-agent-token-env.ts). Unset: only
   * collector tokens (and Kasmap's own agent tokens) authenticate.
   */
  KASMAP_GITLAB_KAS_SECRET: z.string().min(1).optional(),
  /** How long GitLab's yes for an agent token is kept: a revocation in GitLab takes effect within it. */
  KASMAP_GITLAB_PERMISSION_TTL_SECONDS: GitLabModeEnvSchema.shape.KASMAP_GITLAB_PERMISSION_TTL_SECONDS,
  KASMAP_GITLAB_TIMEOUT_MS: GitLabModeEnvSchema.shape.KASMAP_GITLAB_TIMEOUT_MS,
  /**
   * The re-authentication lease of Kasmap's own agent and collector tokens (issue 9): a running
   * collector presents its token again within it, so a revoked token stops its collector within
   * it. GitLab agent tokens use `KASMAP_GITLAB_PERMISSION_TTL_SECONDS` instead.
   */
  KASMAP_AGENT_TOKEN_LEASE_SECONDS: z.coerce.number().int().min(2).max(3600).default(60),
  /**
   * Command serving (`serveCommands`, README "Security model"): handlers running at once and
   * requests queued in lane `users` (every command from the gateway and the sync); past the queue
   * a request is answered `unavailable` at once (503 with `Retry-After` at the gateway).
   */
  KASMAP_AUTHZ_COMMANDS_IN_FLIGHT: z.coerce.number().int().min(1).max(256).default(16),
  KASMAP_AUTHZ_COMMANDS_WAITING: z.coerce.number().int().min(0).max(100_000).default(1_000),
  /**
   * The same for lane `collectors` (`agent_token.authenticate`, which any collector identity may
   * send with any token): kept small, so a flood of it holds at most this many pooled connections.
   */
  KASMAP_AUTHZ_AUTHENTICATIONS_IN_FLIGHT: z.coerce.number().int().min(1).max(64).default(2),
  KASMAP_AUTHZ_AUTHENTICATIONS_WAITING: z.coerce.number().int().min(0).max(10_000).default(100),
  /**
   * How long a published row stays in `authz.outbox`, seconds; then the relay deletes it (the
   * event stays in its stream). At least 10 minutes: far past the command that wrote it reading
   * its positions, and the streams' two-minute duplicate window; at most 30 days.
   */
  KASMAP_AUTHZ_OUTBOX_RETENTION_SECONDS: z.coerce
    .number()
    .int()
    .min(600)
    .max(30 * 24 * 3600)
    .default(DEFAULT_OUTBOX_RETENTION_MS / 1_000),
});
export type AuthzEnv = z.infer<typeof AuthzEnvSchema>;
