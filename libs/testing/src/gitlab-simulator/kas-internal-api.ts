import { randomBytes } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { KAS_API_REQUEST_HEADER, verifyKasJwt } from "@kasmap/gitlab-api";
import type { SimulatorState } from "./state.ts";

/** The internal route KAS calls (`lib/api/internal/kubernetes.rb` in gitlabhq/gitlabhq). */
export const AGENT_INFO_ROUTE = "/api/v4/internal/kubernetes/agent_info";

/**
 * GitLab's agent tokens (`glagent-…`) as the simulator holds them: plaintext → agent and token
 * id, until revoked. Only the internal `agent_info` route reads them.
 */
export class SimAgentTokens {
  readonly #byToken = new Map<string, { agentId: number; tokenId: number; revoked: boolean }>();

  issue(agentId: number, tokenId: number): string {
    const token = `glagent-${randomBytes(24).toString("base64url")}`;
    this.#byToken.set(token, { agentId, tokenId, revoked: false });
    return token;
  }

  revoke(agentId: number, tokenId: number): void {
    for (const entry of this.#byToken.values()) {
      if (entry.agentId === agentId && entry.tokenId === tokenId) entry.revoked = true;
    }
  }

  activeAgentOf(token: string): number | null {
    const entry = this.#byToken.get(token);
    return entry === undefined || entry.revoked ? null : entry.agentId;
  }
}

/**
 * `GET /api/v4/internal/kubernetes/agent_info` as GitLab answers it: the KAS JWT first
 * (`Gitlab-Kas-Api-Request`, HS256 with the KAS secret, `iss` gitlab-kas, `aud` gitlab, not
 * expired; else `401 {"message":"KAS JWT authentication invalid"}`), then the agent token in
 * `Authorization: Bearer` (unknown, revoked or of a deleted agent: `401 Unauthorized`). A
 * simulator started without a KAS secret has no KAS: 404.
 */
export function answerAgentInfo(
  state: SimulatorState,
  tokens: SimAgentTokens,
  kasSecret: Buffer | null,
  headers: IncomingHttpHeaders,
): { status: number; body: unknown } {
  if (kasSecret === null) return { status: 404, body: { message: "404 Not Found" } };
  const jwt = headers[KAS_API_REQUEST_HEADER.toLowerCase()];
  if (typeof jwt !== "string" || !verifyKasJwt(jwt, kasSecret).ok) {
    return { status: 401, body: { message: "KAS JWT authentication invalid" } };
  }
  const authorization = headers.authorization;
  const token = typeof authorization === "string" ? /^Bearer (.+)$/i.exec(authorization)?.[1] : undefined;
  const agentId = token === undefined ? null : tokens.activeAgentOf(token.trim());
  const agent = agentId === null ? undefined : state.agents.get(agentId);
  if (agent === undefined) return { status: 401, body: { message: "401 Unauthorized" } };
  const project = state.requireProject(agent.project_id);
  return {
    status: 200,
    body: {
      project_id: project.id,
      agent_id: agent.id,
      agent_name: agent.name,
      gitaly_info: { address: "unix:/var/opt/gitlab/gitaly/gitaly.socket", token: "", features: {} },
      gitaly_repository: {
        storage_name: "default",
        relative_path: `@hashed/${project.id}.git`,
        gl_repository: `project-${project.id}`,
        gl_project_path: state.projectFullPath(project),
      },
      default_branch: project.default_branch,
    },
  };
}
