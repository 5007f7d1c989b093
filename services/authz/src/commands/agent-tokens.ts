import {
  type AgentTokenKind,
  agentTokenKindOf,
  digestToken,
  isKasmapError,
  KasmapError,
} from "@kasmap/contracts";
import { sql } from "kysely";
import { emitRegistryChange } from "../registry-events.ts";
import { toAgentToken } from "../store/entities.ts";
import { mintAgentCredential, revokeAgentCredential } from "./agent-credentials.ts";
import type { CommandDeps, CommandHandler } from "./command-deps.ts";
import { authenticateWithGitLab } from "./gitlab-agent-tokens.ts";

/** `last_used_at` is written at most this often per token (each write is an event). */
export const LAST_USED_RESOLUTION = "1 minute";

/**
 * `agent_token.create`: Maintainer+; at most two active agent tokens per agent
 * (`400 Bad request - An agent can have only two active tokens at a time`). The plaintext is
 * returned once, in this reply; only its SHA-256 is stored or published.
 */
export const createAgentToken: CommandHandler<"agent_token.create"> = (deps, request) =>
  mintAgentCredential(deps, request, "agent");

/** `agent_token.revoke`: Maintainer+; revoking a revoked token succeeds unchanged (GitLab: 204). */
export const revokeAgentToken: CommandHandler<"agent_token.revoke"> = (deps, request) =>
  revokeAgentCredential(deps, request, "agent");

/**
 * `agent_token.authenticate`: the collector presents its plaintext token, an agent token
 * (`glagent-`) or a collector token (`kmcol-`); the prefix names the kind, and the token is
 * looked up by SHA-256 among that kind's (one indexed lookup) and accepted only while active
 * and its agent lives (401 otherwise, also for any other prefix, without a lookup). `last_used_at`
 * is refreshed at most once a minute, so a chatty collector does not flood the log; the common
 * case reads without taking the registry lock. With GitLab's KAS secret, GitLab answers for its
 * own agent tokens (`authenticateWithGitLab`). The reply's `lease_expires_at` is when the
 * collector must have presented the token again (`CommandDeps.agentTokenLeaseSeconds`).
 *
 * A refusal is remembered by the token's digest for a few seconds (`CommandDeps.refusedTokens`,
 * refused-token-cache.ts): any collector identity may send this command, and a repeated bogus
 * token then costs no database lookup and no GitLab call.
 */
export const authenticateAgentToken: CommandHandler<"agent_token.authenticate"> = async (deps, request) => {
  const kind = agentTokenKindOf(request.token);
  if (kind === null) throw new KasmapError("unauthorized", "401 Unauthorized");
  const digest = digestToken(request.token);
  if (deps.refusedTokens.refuses(digest)) throw new KasmapError("unauthorized", "401 Unauthorized");
  try {
    return await authenticateKnownKind(deps, request.token, kind, digest);
  } catch (error) {
    if (isKasmapError(error, "unauthorized")) deps.refusedTokens.remember(digest);
    throw error;
  }
};

/** The check itself, for a token of `kind` whose SHA-256 is `digest`. */
async function authenticateKnownKind(
  deps: CommandDeps,
  token: string,
  kind: AgentTokenKind,
  digest: string,
): ReturnType<CommandHandler<"agent_token.authenticate">> {
  if (kind === "agent") {
    const byGitLab = await authenticateWithGitLab(deps, token);
    if (byGitLab) return byGitLab;
  }
  const found = await deps.db
    .selectFrom("authz.agent_tokens as t")
    .innerJoin("authz.agents as a", "a.id", "t.agent_id")
    .select(["t.id as token_id", "t.agent_id", "a.project_id", "t.last_used_at", "t.lease_expires_at"])
    .where("t.token_sha256", "=", digest)
    .where("t.kind", "=", kind)
    .where("t.status", "=", "active")
    .where("a.deleted_at", "is", null)
    .executeTakeFirst();
  if (!found) throw new KasmapError("unauthorized", "401 Unauthorized");
  const result = {
    agent_id: found.agent_id,
    token_id: found.token_id,
    project_id: found.project_id,
    token_kind: kind,
    // A GitLab-verified record's lease was set from GitLab's answer just now (gitlab-agent-tokens.ts).
    lease_expires_at: (
      found.lease_expires_at ?? new Date(Date.now() + deps.agentTokenLeaseSeconds * 1000)
    ).toISOString(),
  };
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
}
