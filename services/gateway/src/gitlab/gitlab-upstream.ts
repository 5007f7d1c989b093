import type { Agent } from "node:http";
import type { ExternalUrlSettings } from "../http/request-url.ts";

/** Where and how GitLab's own routes are forwarded in GitLab mode (`GatewayOptions.gitlab`). */
export type GitLabUpstream = {
  /** GitLab's root URL without a trailing slash (`KASMAP_GITLAB_URL`), e.g. `https://gitlab.example.com`. */
  readonly url: URL;
  /**
   * Where clients reach Kasmap, for rewritten `Link` headers: `KASMAP_EXTERNAL_URL`, else a
   * trusted proxy's `X-Forwarded-*`, else each request's own `Host` (the gateway's settings).
   */
  readonly externalUrl: ExternalUrlSettings;
  /** How long GitLab may take to start answering a forwarded request, ms (`KASMAP_GITLAB_TIMEOUT_MS`). */
  readonly timeoutMs: number;
  /** Keeps connections to GitLab open between forwarded requests (an `https.Agent` for https). */
  readonly agent: Agent;
};
