import { type AuthzCommandResult, digestToken, KasmapError, type StreamPosition } from "@kasmap/contracts";
import { emitRegistryChange } from "../registry-events.ts";
import { toAgentToken } from "../store/entities.ts";
import type { CommandDeps } from "./command-deps.ts";

type Authenticated = { result: AuthzCommandResult<"agent_token.authenticate">; positions: StreamPosition[] };

/**
 * `agent_token.authenticate` for a GitLab agent token (`glagent-`) when GitLab's KAS secret is
 * configured (`CommandDeps.gitlabAgentTokens`): GitLab, not this registry, says whose it is
 * (`GitLabAgentTokenVerifier`); a refusal throws `unauthorized`. Answers the result for a token
 * seen for the first time, and null when the registry's own check is to answer: for a token
 * recorded earlier (GitLab has just confirmed it) and for one Kasmap minted itself for an agent
 * of its own registry (not mirrored), which is checked as before, without asking GitLab.
 *
 * The agent GitLab names must be a live mirrored agent. The token is then recorded by its SHA-256
 * alone as an active agent token of that agent (`kind: "agent"`, no creator), published like any
 * agent token: the projection accepts the collector's events only while its agent has an active
 * token, and that rule stays whole. When GitLab later refuses the token (revoked in GitLab, once
 * the verifier's cache expired) the record is revoked, and the projection refuses the events the
 * collector publishes after that. The record is never the authority: each authentication asks
 * GitLab (or its cached yes).
 */
export async function authenticateWithGitLab(
  deps: CommandDeps,
  token: string,
): Promise<Authenticated | null> {
  const verifier = deps.gitlabAgentTokens;
  if (!verifier) return null;
  const digest = digestToken(token);
  const recorded = await deps.db
    .selectFrom("authz.agent_tokens as t")
    .innerJoin("authz.agents as a", "a.id", "t.agent_id")
    .select(["t.id", "t.agent_id", "t.status", "a.mirrored_at"])
    .where("t.token_sha256", "=", digest)
    .where("t.kind", "=", "agent")
    .executeTakeFirst();
  if (recorded && recorded.mirrored_at === null) return null;

  const verdict = await verifier.verdictOf(token);
  if (verdict.kind === "refused") {
    if (recorded?.status === "active") await revokeRecord(deps, recorded.id);
    throw new KasmapError("unauthorized", "401 Unauthorized");
  }
  const agent = await deps.db
    .selectFrom("authz.agents")
    .select(["id", "project_id"])
    .where("id", "=", verdict.agentId)
    .where("deleted_at", "is", null)
    .where("mirrored_at", "is not", null)
    .executeTakeFirst();
  if (!agent) {
    deps.logger.warn(
      { agent_id: verdict.agentId, project_id: verdict.projectId },
      "GitLab names an agent that is not in the mirror: agent token refused until the mirror has it",
    );
    throw new KasmapError("unauthorized", "401 Unauthorized");
  }
  // A record revoked earlier stays revoked (GitLab never revives a token), as does one of another agent.
  if (recorded && (recorded.status !== "active" || recorded.agent_id !== agent.id)) {
    throw new KasmapError("unauthorized", "401 Unauthorized");
  }
  // Recorded and active: the registry's own check answers from the record (and refreshes `last_used_at`).
  if (recorded) return null;
  return deps.run(null, async (unit) => {
    const row = await unit.tx
      .insertInto("authz.agent_tokens")
      .values({
        agent_id: agent.id,
        kind: "agent",
        name: "GitLab agent token",
        description: "verified by GitLab's internal agent_info API; only its SHA-256 is kept",
        status: "active",
        token_sha256: digest,
        created_by_user_id: null,
        last_used_at: new Date(),
      })
      .onConflict((oc) => oc.column("token_sha256").doNothing())
      .returningAll()
      .executeTakeFirst();
    // Nothing written: another authentication recorded it a moment ago.
    const tokenId = row?.id ?? (await recordedId(deps, digest));
    if (row) emitRegistryChange(unit, "agent_token", toAgentToken(row));
    return {
      agent_id: agent.id,
      token_id: tokenId,
      project_id: agent.project_id,
      token_kind: "agent" as const,
    };
  });
}

async function recordedId(deps: CommandDeps, digest: string): Promise<number> {
  const row = await deps.db
    .selectFrom("authz.agent_tokens")
    .select("id")
    .where("token_sha256", "=", digest)
    .where("status", "=", "active")
    .executeTakeFirst();
  if (!row) throw new KasmapError("unauthorized", "401 Unauthorized");
  return row.id;
}

/** Marks a recorded GitLab agent token revoked (GitLab refused it), publishing the change. */
async function revokeRecord(deps: CommandDeps, tokenId: number): Promise<void> {
  await deps.run(null, async (unit) => {
    const row = await unit.tx
      .updateTable("authz.agent_tokens")
      .set({ status: "revoked" })
      .where("id", "=", tokenId)
      .where("status", "=", "active")
      .returningAll()
      .executeTakeFirst();
    if (row) emitRegistryChange(unit, "agent_token", toAgentToken(row));
  });
}
