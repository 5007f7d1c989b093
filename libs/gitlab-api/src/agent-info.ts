import { z } from "zod";
import type { GitLabClient } from "./client.ts";
import { KAS_API_REQUEST_HEADER, signKasJwt } from "./kas-jwt.ts";

/**
 * GitLab's internal Kubernetes API as KAS calls it to learn which agent an agentk token belongs
 * to (`lib/api/internal/kubernetes.rb` in gitlabhq/gitlabhq, `GET /internal/kubernetes/agent_info`):
 * the agent token as `Authorization: Bearer`, the KAS JWT in `Gitlab-Kas-Api-Request`. GitLab
 * answers `401 {"message":"KAS JWT authentication invalid"}` for a bad JWT and 401 for an unknown
 * or revoked agent token; a 200 names `project_id`, `agent_id`, `agent_name`, `gitaly_info`,
 * `gitaly_repository` and `default_branch` (Kasmap reads the first three).
 */
export const AGENT_INFO_PATH = "/internal/kubernetes/agent_info";

export const GitLabAgentInfoSchema = z.looseObject({
  project_id: z.number().int(),
  agent_id: z.number().int(),
  agent_name: z.string(),
  default_branch: z.string().optional(),
});
export type GitLabAgentInfo = z.infer<typeof GitLabAgentInfoSchema>;

/**
 * Asks GitLab which agent `agentToken` belongs to. Throws `GitLabApiError` as every client call
 * does (`unauthorized` when GitLab refuses the token or the JWT). The token travels only in the
 * `Authorization` header, never in a URL or a message.
 */
export function readAgentInfo(
  client: GitLabClient,
  agentToken: string,
  kasSecret: Buffer,
  nowMs = Date.now(),
): Promise<GitLabAgentInfo> {
  return client.get(AGENT_INFO_PATH, GitLabAgentInfoSchema, {
    credential: { kind: "oauth", token: agentToken },
    headers: { [KAS_API_REQUEST_HEADER]: signKasJwt(kasSecret, nowMs) },
  });
}

/**
 * Why `baseUrl` may not carry agent tokens, or null when it may: the issue's "only over TLS",
 * so `https:`, or plain `http:` to a loopback address only (GitLab on the same host, and the
 * tests' simulator); never `http:` across a network.
 */
export function agentTokenTransportProblem(baseUrl: string): string | null {
  const url = new URL(baseUrl);
  if (url.protocol === "https:") return null;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const loopback = host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
  if (url.protocol === "http:" && loopback) return null;
  return `GitLab agent tokens travel only over TLS: ${url.protocol}//${url.host} is not https (http is allowed to loopback only)`;
}
