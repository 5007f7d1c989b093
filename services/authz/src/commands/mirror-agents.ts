import { createHash } from "node:crypto";
import {
  AGENT_CONFIG_MAX_BYTES,
  type Agent,
  type AuthzCommandParsedRequest,
  type ConfigRefusal,
  EMPTY_GRANT_SET,
  KasmapError,
  NOT_FOUND,
} from "@kasmap/contracts";
import { publishGrantChange, recordConfigRefusal } from "../agent-authorizations.ts";
import { invalidField } from "../field-validation.ts";
import { mirrorClock } from "../mirror-clock.ts";
import { refuseUnmirrored } from "../mirror-namespaces.ts";
import { emitRegistryChange } from "../registry-events.ts";
import { findAgentConfig } from "../store/agent-configs.ts";
import { findProject, toAgent } from "../store/entities.ts";
import { reserveMirroredId } from "../store/mirror-ids.ts";
import type { AuthzExecutor } from "../store/schema.ts";
import type { UnitOfWork } from "../unit-of-work.ts";
import { configSummary, putConfigOfAgent } from "./agent-config.ts";
import type { CommandDeps, CommandHandler } from "./command-deps.ts";

/** What a missing config file reads as (GitLab: an agent without a file has no authorizations). */
const NO_CONFIG_FILE = "{}";

/**
 * `mirror.agent.put`: a GitLab agent of a mirrored project (else 404 Project). A new agent is
 * published as `agent.create` publishes it (the agent, and `agent_created` with empty grants);
 * one deleted here earlier that GitLab still has comes back the same way. GitLab agents never
 * change project: another project is a `conflict`.
 */
export const putMirroredAgent: CommandHandler<"mirror.agent.put"> = (deps, request) =>
  deps.run(null, async (unit) => {
    const project = await findProject(unit.tx, request.project_id);
    if (!project) throw new KasmapError("not_found", NOT_FOUND.project);
    // What GitLab owns of the agent, written alike by the insert and the update; a put also
    // brings back an agent deleted here earlier.
    const asGitLabHasIt = {
      name: request.name,
      created_at: request.created_at,
      deleted_at: null,
      mirrored_at: await mirrorClock(unit.tx),
    };
    const existing = await agentRow(unit.tx, request.id);
    if (!existing) {
      await refuseTakenName(unit, request.project_id, request.name, request.id);
      const row = await unit.tx
        .insertInto("authz.agents")
        .values({ id: request.id, project_id: project.id, created_by_user_id: null, ...asGitLabHasIt })
        .returningAll()
        .executeTakeFirstOrThrow();
      await reserveMirroredId(unit.tx, "authz.agents", request.id);
      announceNewAgent(unit, toAgent(row));
      return { changed: true };
    }
    refuseUnmirrored(existing, "agent", request.id);
    if (existing.project_id !== request.project_id) {
      throw new KasmapError(
        "conflict",
        `agent ${request.id} belongs to project ${existing.project_id}; GitLab agents never change project`,
      );
    }
    const revived = existing.deleted_at !== null;
    const changed =
      revived ||
      existing.name !== request.name ||
      existing.created_at.getTime() !== new Date(request.created_at).getTime();
    if (existing.name !== request.name)
      await refuseTakenName(unit, request.project_id, request.name, request.id);
    const row = await unit.tx
      .updateTable("authz.agents")
      // A revived agent's config is mirrored afresh.
      .set({ ...asGitLabHasIt, ...(revived ? { mirror_config_sha256: null } : {}) })
      .where("id", "=", request.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    if (revived) announceNewAgent(unit, toAgent(row));
    else if (changed) emitRegistryChange(unit, "agent", toAgent(row));
    return { changed };
  });

/**
 * `mirror.agents.keep`: the walk could not read the project's agent listing whole, so it cannot
 * tell which agents GitLab still has; each live mirrored agent of the project is stamped as if
 * put again, so the sweep after the walk keeps it. Publishes nothing: nothing changed.
 *
 * SQL: `update authz.agents set mirrored_at = $now where project_id = $1 and deleted_at is null
 * and mirrored_at is not null returning id`.
 */
export const keepMirroredAgents: CommandHandler<"mirror.agents.keep"> = async (deps, request) => {
  const { result } = await deps.run(null, async (unit) => {
    const kept = await unit.tx
      .updateTable("authz.agents")
      .set({ mirrored_at: await mirrorClock(unit.tx) })
      .where("project_id", "=", request.project_id)
      .where("deleted_at", "is", null)
      .where("mirrored_at", "is not", null)
      .returning("id")
      .execute();
    return { kept: kept.length };
  });
  return { result, positions: [] };
};

function announceNewAgent(unit: UnitOfWork, agent: Agent): void {
  emitRegistryChange(unit, "agent", agent);
  publishGrantChange(unit, agent, "agent_created", EMPTY_GRANT_SET, EMPTY_GRANT_SET, {
    dropped_count: 0,
    dropped: [],
  });
}

async function agentRow(db: AuthzExecutor, id: number) {
  return db.selectFrom("authz.agents").selectAll().where("id", "=", id).executeTakeFirst();
}

async function refuseTakenName(unit: UnitOfWork, projectId: number, name: string, id: number): Promise<void> {
  const taken = await unit.tx
    .selectFrom("authz.agents")
    .select("id")
    .where("project_id", "=", projectId)
    .where("name", "=", name)
    .where("deleted_at", "is", null)
    .where("id", "!=", id)
    .executeTakeFirst();
  if (taken) throw invalidField("name", ["has already been taken"]);
}

async function liveAgent(db: AuthzExecutor, id: number) {
  const row = await agentRow(db, id);
  if (!row || row.deleted_at !== null) throw new KasmapError("not_found", NOT_FOUND.agent);
  return row;
}

/**
 * `mirror.agent_config.put`: the agent's config file as GitLab has it (`null`: no file, `{}`),
 * applied by `agent_config.put`'s own logic with refusals recorded; a file the sync found over
 * 256 KiB, or too large for NATS once encoded (`oversized`), is recorded as refused
 * `payload_too_large` without being read. The digest of the last file mirrored (accepted or
 * refused) is kept, so the same file again publishes nothing.
 */
export const putMirroredAgentConfig: CommandHandler<"mirror.agent_config.put"> = async (deps, request) => {
  const yaml = request.yaml ?? NO_CONFIG_FILE;
  const digest =
    request.oversized === undefined
      ? createHash("sha256").update(yaml, "utf8").digest("hex")
      : oversizedMarker(request.oversized);
  const unchanged = await deps.run(null, async (unit) => {
    const agent = await liveAgent(unit.tx, request.agent_id);
    if (agent.mirror_config_sha256 !== digest) return null;
    const stored = await findAgentConfig(unit.tx, agent.id);
    const report = stored ? { dropped_count: stored.dropped_count, dropped: stored.dropped } : undefined;
    return configSummary(agent.id, {
      grants: stored?.grants ?? EMPTY_GRANT_SET,
      report: report ?? { dropped_count: 0, dropped: [] },
    });
  });
  if (unchanged.result !== null) return { result: unchanged.result, positions: [] };
  if (request.oversized !== undefined)
    return recordOversizedConfig(deps, request.agent_id, request.oversized, digest);
  return putConfigOfAgent(deps, {
    actorUserId: null,
    agentOf: async (unit) => toAgent(await liveAgent(unit.tx, request.agent_id)),
    yaml,
    onRefusal: "record",
    afterPut: async (unit, agent) => {
      await unit.tx
        .updateTable("authz.agents")
        .set({ mirror_config_sha256: digest })
        .where("id", "=", agent.id)
        .execute();
    },
  });
};

/** A file the sync could not send (`mirror.agent_config.put`'s `oversized`). */
type OversizedConfig = NonNullable<AuthzCommandParsedRequest<"mirror.agent_config.put">["oversized"]>;

/**
 * What `mirror_config_sha256` holds after an oversized file: never a SHA-256 hex digest, so no
 * file's content can be taken for it. The same sizes again are the same refusal: they publish
 * nothing (the content is unknown, and the refusal would say the same).
 */
function oversizedMarker({ bytes, request }: OversizedConfig): string {
  const file = `oversized:${bytes ?? "unknown"}`;
  return request === undefined ? file : `${file}:request:${request.bytes}`;
}

/**
 * The refusal of a file over `AGENT_CONFIG_MAX_BYTES`, as authz words it for a file it read, or
 * of one within it whose request is over NATS `max_payload` (the sync could not send it).
 */
function oversizedConfigRefusal({ bytes, request }: OversizedConfig): ConfigRefusal {
  const limit = `the limit is ${AGENT_CONFIG_MAX_BYTES} bytes (256 KiB)`;
  if (request !== undefined) {
    return {
      code: "payload_too_large",
      message:
        `agent configuration is ${bytes} bytes, within the ${AGENT_CONFIG_MAX_BYTES}-byte (256 KiB) limit, ` +
        `but its mirror request is ${request.bytes} bytes once JSON-encoded, over the ` +
        `${request.max_payload}-byte message limit of the NATS server (max_payload)`,
    };
  }
  return {
    code: "payload_too_large",
    message:
      bytes === null
        ? `agent configuration is over ${AGENT_CONFIG_MAX_BYTES} bytes; ${limit}`
        : `agent configuration is ${bytes} bytes; ${limit}`,
  };
}

/**
 * Records an oversized file's refusal (`config_refused`, with the grants in force, which stay)
 * and keeps its marker, in one transaction.
 */
async function recordOversizedConfig(
  deps: CommandDeps,
  agentId: number,
  oversized: OversizedConfig,
  marker: string,
) {
  const refusal = oversizedConfigRefusal(oversized);
  return deps.run(null, async (unit) => {
    const agent = toAgent(await liveAgent(unit.tx, agentId));
    const recorded = await recordConfigRefusal(unit, agent, refusal);
    await unit.tx
      .updateTable("authz.agents")
      .set({ mirror_config_sha256: marker })
      .where("id", "=", agent.id)
      .execute();
    return { ...configSummary(agent.id, recorded), refusal };
  });
}
