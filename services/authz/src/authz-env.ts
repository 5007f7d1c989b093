import { CommonEnvSchema, GitLabModeEnvSchema } from "@kasmap/contracts";
import { z } from "zod";

/** The authz service's environment (`services/authz/src/main.ts`; `npm start` composes it). */
export const AuthzEnvSchema = CommonEnvSchema.extend({
  /** Token of the bootstrap admin `root`; unset = no admin is created. */
  KASMAP_ADMIN_TOKEN: z.string().min(20).optional(),
  /** Set: GitLab mode (GitLab decides access; docs/gitlab-mode.md). */
  KASMAP_GITLAB_URL: GitLabModeEnvSchema.shape.KASMAP_GITLAB_URL,
});
export type AuthzEnv = z.infer<typeof AuthzEnvSchema>;
