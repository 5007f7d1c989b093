import {
  type AgentToken,
  digestToken,
  generateToken,
  KasmapError,
  NOT_FOUND,
  TOKEN_PREFIXES,
} from "@kasmap/contracts";
import { sql } from "kysely";
import { requireActiveUser, requireProjectAction } from "../permissions.ts";
import { emitRegistryChange } from "../registry-events.ts";
import { findAgentToken, findLiveAgent, toAgentToken } from "../store/entities.ts";
import type { CommandHandler } from "./command-deps.ts";

/** GitLab's limit of active tokens per agent. */
export const MAX_ACTIVE_AGENT_TOKENS = 2;
/** `last_used_at` is written at most this often per token (each write is an event). */
export const LAST_USED_RESOLUTION = "1 minute";

function withoutDigest(token: AgentToken): Omit<AgentToken, "token_sha256"> {
  const { token_sha256: _digest, ...rest } = token;
  return rest;
}

/**
 * `agent_token.create`: Maintainer+; at most two active tokens per agent
 * (`400 Bad request - An agent can have only two active tokens at a time`). The plaintext is
 * returned once, in this reply; only its SHA-256 is stored or published.
 */
export const createAgentToken: CommandHandler<"agent_token.create"> = (deps, request) =>
  deps.run(request.actor_user_id, async (unit) => {
    const actor = await requireActiveUser(unit.tx, request.actor_user_id);
    const project = await requireProjectAction(unit.tx, actor, request.project_id, "admin_cluster");
    const agent = await findLiveAgent(unit.tx, project.id, request.agent_id);
    if (!agent) throw new KasmapError("not_found", NOT_FOUND.agent);
    const active = await unit.tx
      .selectFrom("authz.agent_tokens")
      .select((eb) => eb.fn.countAll<number>().as("count"))
      .where("agent_id", "=", agent.id)
      .where("status", "=", "active")
      .executeTakeFirstOrThrow();
    if (Number(active.count) >= MAX_ACTIVE_AGENT_TOKENS) {
      throw new KasmapError("bad_request", "An agent can have only two active tokens at a time");
    }
    const plaintext = generateToken(TOKEN_PREFIXES.agent);
    const row = await unit.tx
      .insertInto("authz.agent_tokens")
      .values({
        agent_id: agent.id,
        name: request.name,
        description: request.description ?? null,
        status: "active",
        token_sha256: digestToken(plaintext),
        created_by_user_id: actor.id,
        last_used_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const token = toAgentToken(row);
    emitRegistryChange(unit, "agent_token", token);
    return { token: withoutDigest(token), plaintext };
  });

/** `agent_token.revoke`: Maintainer+; revoking a revoked token succeeds unchanged (GitLab: 204). */
export const revokeAgentToken: CommandHandler<"agent_token.revoke"> = (deps, request) =>
  deps.run(request.actor_user_id, async (unit) => {
    const actor = await requireActiveUser(unit.tx, request.actor_user_id);
    const project = await requireProjectAction(unit.tx, actor, request.project_id, "admin_cluster");
    const agent = await findLiveAgent(unit.tx, project.id, request.agent_id);
    if (!agent) throw new KasmapError("not_found", NOT_FOUND.agent);
    const existing = await findAgentToken(unit.tx, agent.id, request.token_id);
    if (!existing) throw new KasmapError("not_found", NOT_FOUND.agentToken);
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
  });

/**
 * `agent_token.authenticate`: the collector presents its plaintext token; it is looked up by
 * SHA-256 and accepted only while active and its agent lives (401 otherwise). `last_used_at`
 * is refreshed at most once a minute, so a chatty collector does not flood the log; the common
 * case reads without taking the registry lock.
 */
export const authenticateAgentToken: CommandHandler<"agent_token.authenticate"> = async (deps, request) => {
  const digest = digestToken(request.token);
  const found = await deps.db
    .selectFrom("authz.agent_tokens as t")
    .innerJoin("authz.agents as a", "a.id", "t.agent_id")
    .select(["t.id as token_id", "t.agent_id", "a.project_id", "t.last_used_at"])
    .where("t.token_sha256", "=", digest)
    .where("t.status", "=", "active")
    .where("a.deleted_at", "is", null)
    .executeTakeFirst();
  if (!found) throw new KasmapError("unauthorized", "401 Unauthorized");
  const result = { agent_id: found.agent_id, token_id: found.token_id, project_id: found.project_id };
  if (found.last_used_at && Date.now() - found.last_used_at.getTime() < 60_000) {
    return { result, positions: [] };
  }
  return deps.run(null, async (unit) => {
    const row = await unit.tx
      .updateTable("authz.agent_tokens")
      .set({ last_used_at: new Date() })
      .where("id", "=", found.token_id)
      .where("status", "=", "active")
      .where((eb) =>
        eb.or([
          eb("last_used_at", "is", null),
          eb("last_used_at", "<", sql<Date>`now() - ${LAST_USED_RESOLUTION}::interval`),
        ]),
      )
      .returningAll()
      .executeTakeFirst();
    if (!row) {
      // Someone else refreshed it within the minute, or it was revoked since the read above.
      const still = await unit.tx
        .selectFrom("authz.agent_tokens")
        .select("id")
        .where("id", "=", found.token_id)
        .where("status", "=", "active")
        .executeTakeFirst();
      if (!still) throw new KasmapError("unauthorized", "401 Unauthorized");
      return result;
    }
    emitRegistryChange(unit, "agent_token", toAgentToken(row));
    return result;
  });
};
