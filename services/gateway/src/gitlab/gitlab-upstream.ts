import type { Agent } from "node:http";

/** Where and how GitLab's own routes are forwarded in GitLab mode (`GatewayOptions.gitlab`). */
export type GitLabUpstream = {
  /** GitLab's root URL without a trailing slash (`KASMAP_GITLAB_URL`), e.g. `https://gitlab.example.com`. */
  readonly url: URL;
  /**
   * Kasmap's own root URL as clients call it (`KASMAP_EXTERNAL_URL`), for rewritten `Link`
   * headers; null = the scheme and `Host` of each request.
   */
  readonly externalUrl: URL | null;
  /** How long GitLab may take to start answering a forwarded request, ms (`KASMAP_GITLAB_TIMEOUT_MS`). */
  readonly timeoutMs: number;
  /** Keeps connections to GitLab open between forwarded requests (an `https.Agent` for https). */
  readonly agent: Agent;
};
