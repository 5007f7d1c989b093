import { digestToken, KasmapError } from "@kasmap/contracts";
import {
  agentTokenTransportProblem,
  createGitLabClient,
  GitLabApiError,
  readAgentInfo,
} from "@kasmap/gitlab-api";
import type { Logger } from "@kasmap/logging";

/**
 * GitLab mode's KAS-secret option (issue 9 item 5, docs/gitlab-mode.md): with GitLab's KAS secret,
 * authz asks GitLab which agent a `glagent-` token belongs to, the way KAS does for agentk
 * (`GET /api/v4/internal/kubernetes/agent_info`, the agent token as bearer, the KAS JWT in
 * `Gitlab-Kas-Api-Request`). authz, the only service that receives agent tokens, makes the call
 * itself, so no other NATS identity ever sees one.
 */
export type GitLabAgentTokenOptions = {
  /** GitLab's root URL (`KASMAP_GITLAB_URL`): https, or http to loopback only. */
  gitlabUrl: string;
  /** The key bytes of GitLab's KAS secret file (`parseKasSecret`). */
  kasSecret: Buffer;
  /** How long GitLab's yes is kept (`KASMAP_GITLAB_PERMISSION_TTL_SECONDS`); a revocation in GitLab takes effect within it. */
  ttlSeconds: number;
  /** Per request to GitLab, ms (`KASMAP_GITLAB_TIMEOUT_MS`). */
  timeoutMs: number;
  /** Most tokens whose answer is kept; the oldest goes first. Default 10,000. */
  maxCachedTokens?: number;
  fetch?: typeof fetch;
};

/**
 * GitLab's answer for a token: its agent, or a refusal (unknown, revoked, agent deleted).
 * `verifiedUntil` = when GitLab said yes + the TTL: the latest a revocation in GitLab can stay
 * unseen, so the end of the token's re-authentication lease.
 */
export type GitLabAgentVerdict =
  | { kind: "agent"; agentId: number; projectId: number; verifiedUntil: Date }
  | { kind: "refused" };

export type GitLabAgentTokenVerifier = {
  /**
   * GitLab's verdict on `token`. A yes is kept by SHA-256 of the token (never the token) for the
   * TTL, but GitLab is asked again once the kept yes is past half of it, so every answer leaves
   * at least half a TTL of lease: a collector renewing its lease halfway never runs it out while
   * GitLab answers. When GitLab cannot answer, a kept yes still inside its TTL is the answer;
   * with none, throws `unavailable`: an agent token is never accepted on a guess (fail closed).
   */
  verdictOf(token: string): Promise<GitLabAgentVerdict>;
};

const DEFAULT_MAX_CACHED_TOKENS = 10_000;

export function createGitLabAgentTokenVerifier(
  options: GitLabAgentTokenOptions,
  logger: Logger,
): GitLabAgentTokenVerifier {
  const problem = agentTokenTransportProblem(options.gitlabUrl);
  if (problem !== null) throw new Error(problem);
  const client = createGitLabClient({
    baseUrl: options.gitlabUrl,
    timeoutMs: options.timeoutMs,
    maxRetries: 1,
    // Never wait out a long rate limit while a collector waits for its answer.
    maxRetryAfterSeconds: 5,
    logger,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const maxEntries = options.maxCachedTokens ?? DEFAULT_MAX_CACHED_TOKENS;
  const ttlMs = options.ttlSeconds * 1000;
  const cache = new Map<string, { agentId: number; projectId: number; expiresAt: number }>();

  function remember(digest: string, agentId: number, projectId: number): GitLabAgentVerdict {
    const answer = { agentId, projectId, expiresAt: Date.now() + ttlMs };
    cache.delete(digest);
    cache.set(digest, answer);
    // A Map iterates in insertion order: the first key is the oldest answer.
    while (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
    return verdictFrom(answer);
  }

  return {
    async verdictOf(token) {
      const digest = digestToken(token);
      const cached = cache.get(digest);
      const usable = cached !== undefined && cached.expiresAt > Date.now();
      if (usable && cached.expiresAt - Date.now() > ttlMs / 2) return verdictFrom(cached);
      if (!usable) cache.delete(digest);
      try {
        const info = await readAgentInfo(client, token, options.kasSecret);
        return remember(digest, info.agent_id, info.project_id);
      } catch (error) {
        if (!(error instanceof GitLabApiError)) throw error;
        if (error.kind === "unauthorized" || error.kind === "forbidden" || error.kind === "not_found") {
          cache.delete(digest);
          // GitLab's 401 also covers a JWT it refuses (a wrong KAS secret): say so to the operator.
          logger.warn(
            { gitlab: new URL(options.gitlabUrl).origin, status: error.status },
            "GitLab refused an agent token (agent_info); a refusal of every token means a wrong KAS secret",
          );
          return { kind: "refused" };
        }
        // GitLab's earlier yes still holds for the rest of its TTL.
        if (usable) return verdictFrom(cached);
        // The message names the path and status, never the token (it travels in a header only).
        logger.error(
          { gitlab: new URL(options.gitlabUrl).origin, kind: error.kind, reason: error.message },
          "GitLab could not verify an agent token: refused (fail closed)",
        );
        throw new KasmapError("unavailable", "GitLab unavailable: the agent token cannot be verified", {
          cause: error,
        });
      }
    },
  };
}

function verdictFrom(answer: { agentId: number; projectId: number; expiresAt: number }): GitLabAgentVerdict {
  return {
    kind: "agent",
    agentId: answer.agentId,
    projectId: answer.projectId,
    verifiedUntil: new Date(answer.expiresAt),
  };
}
