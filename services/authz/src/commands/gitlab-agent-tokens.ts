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
 *
 * The lease (issue 9): Kasmap cannot see a revocation in GitLab, so each yes sets the record's
 * `lease_expires_at` to GitLab's answer + the TTL, and the collector must present the token again
 * before then (`lease_expires_at` of the reply). A record whose lease passed is revoked by
 * `lapseUnconfirmedAgentTokens` and marked `lapsed_at`; GitLab's next yes for it revives it (a
 * collector that was away, or could not reach authz, comes back), while a record GitLab refused
 * stays revoked.
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
    .select(["t.id", "t.agent_id", "t.status", "t.lapsed_at", "a.mirrored_at"])
    .where("t.token_sha256", "=", digest)
    .where("t.kind", "=", "agent")
    .executeTakeFirst();
  if (recorded && recorded.mirrored_at === null) return null;

  const verdict = await verifier.verdictOf(token);
  if (verdict.kind === "refused") {
    if (recorded && (recorded.status === "active" || recorded.lapsed_at !== null)) {
      await revokeRecord(deps, recorded.id);
    }
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
  // A record revoked earlier stays revoked (GitLab never revives a token), as does one of another
  // agent; one revoked only because its lease lapsed comes back now that GitLab says yes.
  const lapsed = recorded?.status === "revoked" && recorded.lapsed_at !== null;
  if (recorded && ((recorded.status !== "active" && !lapsed) || recorded.agent_id !== agent.id)) {
    throw new KasmapError("unauthorized", "401 Unauthorized");
  }
  // Recorded: its lease runs on from GitLab's yes, and the registry's own check answers from the
  // record (and refreshes `last_used_at`).
  if (recorded) {
    await renewRecord(deps, recorded.id, verdict.verifiedUntil, lapsed);
    return null;
  }
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
        lease_expires_at: verdict.verifiedUntil,
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
      lease_expires_at: verdict.verifiedUntil.toISOString(),
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

/**
 * Extends a record's lease to `until`; a lapsed record becomes active again, which is published
 * (the projection accepts the agent's events again).
 */
async function renewRecord(deps: CommandDeps, tokenId: number, until: Date, lapsed: boolean): Promise<void> {
  if (!lapsed) {
    await deps.db
      .updateTable("authz.agent_tokens")
      .set({ lease_expires_at: until })
      .where("id", "=", tokenId)
      .where("status", "=", "active")
      .execute();
    return;
  }
  await deps.run(null, async (unit) => {
    const row = await unit.tx
      .updateTable("authz.agent_tokens")
      .set({ status: "active", lapsed_at: null, lease_expires_at: until })
      .where("id", "=", tokenId)
      .where("lapsed_at", "is not", null)
      .returningAll()
      .executeTakeFirst();
    if (!row) return;
    emitRegistryChange(unit, "agent_token", toAgentToken(row));
    deps.logger.info(
      { agent_id: row.agent_id, token_id: row.id },
      "GitLab confirmed an agent token whose lease had lapsed: its record is active again",
    );
  });
}

/**
 * The lapse sweep: revokes every GitLab-verified record whose lease passed without GitLab's yes
 * being asked for again (its collector stopped renewing: revoked in GitLab and refused since, or
 * gone), marking it `lapsed_at`, and publishes each change; the projection then refuses the
 * agent's events stored after it unless another token of the agent is active. Answers how many.
 */
export async function lapseUnconfirmedAgentTokens(deps: CommandDeps): Promise<number> {
  const { result } = await deps.run(null, async (unit) => {
    const rows = await unit.tx
      .updateTable("authz.agent_tokens")
      .set({ status: "revoked", lapsed_at: new Date() })
      .where("status", "=", "active")
      .where("lease_expires_at", "<", new Date())
      .returningAll()
      .execute();
    for (const row of rows) {
      emitRegistryChange(unit, "agent_token", toAgentToken(row));
      deps.logger.warn(
        { agent_id: row.agent_id, token_id: row.id, lease_expires_at: row.lease_expires_at },
        "GitLab agent token not re-verified with GitLab within its lease: record revoked until GitLab confirms it again",
      );
    }
    return rows.length;
  });
  return result;
}

/** Marks a recorded GitLab agent token revoked (GitLab refused it), publishing the change. */
async function revokeRecord(deps: CommandDeps, tokenId: number): Promise<void> {
  await deps.run(null, async (unit) => {
    const row = await unit.tx
      .updateTable("authz.agent_tokens")
      .set({ status: "revoked", lapsed_at: null })
      .where("id", "=", tokenId)
      // A lapsed record loses its way back: GitLab has now said no.
      .where((eb) => eb.or([eb("status", "=", "active"), eb("lapsed_at", "is not", null)]))
      .returningAll()
      .executeTakeFirst();
    if (!row) return;
    emitRegistryChange(unit, "agent_token", toAgentToken(row));
    deps.logger.warn(
      { agent_id: row.agent_id, token_id: row.id },
      "GitLab refused an agent token it had accepted (revoked in GitLab): record revoked",
    );
  });
}
