import {
  type AgentTokenKind,
  type AuthzCommandParsedRequest,
  digestToken,
  generateToken,
  KasmapError,
  NOT_FOUND,
  TOKEN_PREFIXES,
} from "@kasmap/contracts";
import { requireActiveUser, requireProjectAction } from "../permissions.ts";
import { emitRegistryChange } from "../registry-events.ts";
import { findAgentToken, findLiveAgent, findProject, toAgentToken } from "../store/entities.ts";
import type { UnitOfWork } from "../unit-of-work.ts";
import type { CommandDeps } from "./command-deps.ts";
import { withoutDigest } from "./without-digest.ts";

/**
 * Minting and revoking the two kinds of agent credential: GitLab's agent tokens (`glagent-`,
 * `agent_token.*`) and Kasmap's collector tokens (`kmcol-`, `collector_token.*`, issue 9 item 5).
 * Both live in `authz.agent_tokens` with their `kind`, and are published as `agent_token`
 * registry events carrying it. One kind never sees the other's tokens: each has its own limit,
 * and a token id of the other kind is `404` on this kind's routes.
 */

/** GitLab's limit of active tokens per agent; collector tokens get the same, per kind. */
export const MAX_ACTIVE_TOKENS_PER_KIND = 2;

const KIND_RULES = {
  agent: {
    prefix: TOKEN_PREFIXES.agent,
    // GitLab's words (`Clusters::AgentTokens::CreateService`), answered `400 Bad request - …`.
    limitMessage: "An agent can have only two active tokens at a time",
    notFound: NOT_FOUND.agentToken,
  },
  collector: {
    prefix: TOKEN_PREFIXES.collector,
    limitMessage: "An agent can have only two active collector tokens at a time",
    notFound: NOT_FOUND.collectorToken,
  },
} as const satisfies Record<AgentTokenKind, { prefix: string; limitMessage: string; notFound: string }>;

type CreateRequest = AuthzCommandParsedRequest<"agent_token.create">;
type RevokeRequest = AuthzCommandParsedRequest<"agent_token.revoke">;
/**
 * Maintainer+ (`admin_cluster`) on the agent's project; at most two active tokens of `kind`. The
 * plaintext is returned once, in this reply; only its SHA-256 is stored or published.
 */
export function mintAgentCredential(deps: CommandDeps, request: CreateRequest, kind: AgentTokenKind) {
  const rules = KIND_RULES[kind];
  return deps.run(
    request.actor_user_id,
    async (unit) => {
      const { agent, creatorId } = await authorizedAgent(deps, unit, request, kind);
      const active = await unit.tx
        .selectFrom("authz.agent_tokens")
        .select((eb) => eb.fn.countAll<number>().as("count"))
        .where("agent_id", "=", agent.id)
        .where("kind", "=", kind)
        .where("status", "=", "active")
        .executeTakeFirstOrThrow();
      if (Number(active.count) >= MAX_ACTIVE_TOKENS_PER_KIND) {
        throw new KasmapError("bad_request", rules.limitMessage);
      }
      const plaintext = generateToken(rules.prefix);
      const row = await unit.tx
        .insertInto("authz.agent_tokens")
        .values({
          agent_id: agent.id,
          kind,
          name: request.name,
          description: request.description ?? null,
          status: "active",
          token_sha256: digestToken(plaintext),
          created_by_user_id: creatorId,
          last_used_at: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const token = toAgentToken(row);
      emitRegistryChange(unit, "agent_token", token);
      return { token: withoutDigest(token), plaintext };
    },
    request.actor_ip_address,
  );
}

/** Maintainer+; revoking a revoked token succeeds unchanged and publishes nothing (GitLab: 204). */
export function revokeAgentCredential(deps: CommandDeps, request: RevokeRequest, kind: AgentTokenKind) {
  return deps.run(
    request.actor_user_id,
    async (unit) => {
      const { agent } = await authorizedAgent(deps, unit, request, kind);
      const existing = await findAgentToken(unit.tx, agent.id, request.token_id, kind);
      if (!existing) throw new KasmapError("not_found", KIND_RULES[kind].notFound);
      if (existing.status === "revoked") return withoutDigest(existing);
      const row = await unit.tx
        .updateTable("authz.agent_tokens")
        .set({ status: "revoked" })
        .where("id", "=", existing.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      const token = toAgentToken(row);
      emitRegistryChange(unit, "agent_token", token);
      return withoutDigest(token);
    },
    request.actor_ip_address,
  );
}

/**
 * The live agent `request` names, once the caller may administer it: Maintainer+
 * (`admin_cluster`) on its project in this registry — or, for collector tokens in GitLab mode,
 * as GitLab said to the gateway (`CommandDeps.gitlabMode`): the caller is a GitLab user this
 * registry does not hold, so the token records no creator and the event names the caller.
 */
async function authorizedAgent(
  deps: CommandDeps,
  unit: UnitOfWork,
  request: { actor_user_id: number; project_id: number; agent_id: number },
  kind: AgentTokenKind,
) {
  if (deps.gitlabMode && kind === "collector") {
    const project = await findProject(unit.tx, request.project_id);
    if (!project) throw new KasmapError("not_found", NOT_FOUND.project);
    const agent = await findLiveAgent(unit.tx, project.id, request.agent_id);
    if (!agent) throw new KasmapError("not_found", NOT_FOUND.agent);
    return { agent, creatorId: null };
  }
  const actor = await requireActiveUser(unit.tx, request.actor_user_id);
  const project = await requireProjectAction(unit.tx, actor, request.project_id, "admin_cluster");
  const agent = await findLiveAgent(unit.tx, project.id, request.agent_id);
  if (!agent) throw new KasmapError("not_found", NOT_FOUND.agent);
  return { agent, creatorId: actor.id };
}
