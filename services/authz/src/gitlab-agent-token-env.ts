import { readFileSync } from "node:fs";
import { agentTokenTransportProblem, parseKasSecret } from "@kasmap/gitlab-api";
import type { AuthzEnv } from "./authz-env.ts";
import type { GitLabAgentTokenOptions } from "./gitlab-agent-token-verifier.ts";

type KasSecretEnv = Pick<
  AuthzEnv,
  | "KASMAP_GITLAB_URL"
  | "KASMAP_GITLAB_KAS_SECRET"
  | "KASMAP_GITLAB_PERMISSION_TTL_SECONDS"
  | "KASMAP_GITLAB_TIMEOUT_MS"
>;

/**
 * The KAS-secret option from authz's environment, or null when `KASMAP_GITLAB_KAS_SECRET` is unset.
 * Refuses at start, naming the variable: the option without GitLab mode, a GitLab URL that is not
 * https (http to loopback only, for GitLab on the same host and the tests' simulator), and a file
 * GitLab itself would refuse (strict base64 of 32 bytes). Messages never hold the file's content.
 */
export function gitlabAgentTokenOptionsFromEnv(env: KasSecretEnv): GitLabAgentTokenOptions | null {
  const path = env.KASMAP_GITLAB_KAS_SECRET;
  if (path === undefined) return null;
  const invalid = (why: string) => new Error(`invalid environment: KASMAP_GITLAB_KAS_SECRET: ${why}`);
  if (env.KASMAP_GITLAB_URL === undefined) throw invalid("needs KASMAP_GITLAB_URL (GitLab mode)");
  const problem = agentTokenTransportProblem(env.KASMAP_GITLAB_URL);
  if (problem !== null) throw invalid(problem);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw invalid(`cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
  let kasSecret: Buffer;
  try {
    kasSecret = parseKasSecret(text);
  } catch (error) {
    throw invalid(`${path}: ${(error as Error).message}`);
  }
  return {
    gitlabUrl: env.KASMAP_GITLAB_URL,
    kasSecret,
    ttlSeconds: env.KASMAP_GITLAB_PERMISSION_TTL_SECONDS,
    timeoutMs: env.KASMAP_GITLAB_TIMEOUT_MS,
  };
}
