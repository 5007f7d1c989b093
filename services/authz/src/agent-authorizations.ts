import { type ConfigIssue, diffGrantSets, parseAgentConfig, resolveAgentConfig } from "@kasmap/access-rules";
import {
  AGENT_CONFIG_ISSUES_REPORTED,
  type AgentConfig,
  type AgentGrantSet,
  type AuthzChangedDataSchema,
  boundDroppedEntries,
  type ConfigRefusal,
  type DroppedReport,
  EMPTY_GRANT_SET,
  isKasmapError,
  KasmapError,
  NOT_FOUND,
} from "@kasmap/contracts";
import type { z } from "zod";
import { collectConfigPaths } from "./config-paths.ts";
import { emitAuthzChange } from "./registry-events.ts";
import { currentGrants, findAgentConfig, storeAgentConfig } from "./store/agent-configs.ts";
import { findProject } from "./store/entities.ts";
import { loadRegistryLookup } from "./store/registry-lookup.ts";
import type { UnitOfWork } from "./unit-of-work.ts";

type Cause = z.infer<typeof AuthzChangedDataSchema>["cause"];
type AgentRef = { id: number; project_id: number };

const NO_DROPPED: DroppedReport = { dropped_count: 0, dropped: [] };

/**
 * Longest field name or message of a reported config problem, in characters. They quote keys
 * from the file, and aliases can repeat one long key into every entry: 100 problems quoting a
 * 100 KB key would make a 10 MB reply.
 */
const PROBLEM_TEXT_MAX_CHARS = 200;

/**
 * Parses a config file, or refuses it with GitLab-style field errors naming the line:
 * `{"ci_access.projects[0].access_as": ["line 4: must set exactly one of …"]}`. Only the first
 * 100 problems are listed (a file of 20,000 bad entries must not make a reply of 20,000
 * fields); `config` then says how many more there were.
 */
export function parseConfigOrRefuse(yaml: string): AgentConfig {
  const parsed = parseAgentConfig(yaml);
  if (parsed.ok) return parsed.config;
  throw new KasmapError("validation_failed", "invalid agent configuration", {
    fields: configIssueFields(parsed.errors),
  });
}

function shortened(text: string): string {
  return text.length <= PROBLEM_TEXT_MAX_CHARS ? text : `${text.slice(0, PROBLEM_TEXT_MAX_CHARS)}…`;
}

function configIssueFields(issues: readonly ConfigIssue[]): Record<string, string[]> {
  const fields: Record<string, string[]> = {};
  const add = (key: string, message: string) => {
    const field = shortened(key);
    fields[field] = [...(fields[field] ?? []), shortened(message)];
  };
  for (const issue of issues.slice(0, AGENT_CONFIG_ISSUES_REPORTED)) {
    add(issue.path || "config", issue.line === null ? issue.message : `line ${issue.line}: ${issue.message}`);
  }
  const more = issues.length - AGENT_CONFIG_ISSUES_REPORTED;
  if (more > 0) add("config", `and ${more} more problems`);
  return fields;
}

/**
 * Resolves `config` against the registry as it is in this transaction, stores the result and
 * publishes the agent's whole new grant set with what was added, removed and dropped (the
 * dropped entries bounded: their count and the first 100). Grants whose event would not fit
 * NATS `max_payload` (a small file can expand through YAML aliases) are refused
 * `payload_too_large` before anything is stored.
 */
export async function applyAgentConfig(
  unit: UnitOfWork,
  agent: AgentRef,
  yaml: string,
  config: AgentConfig,
  cause: Cause,
): Promise<{ grants: AgentGrantSet; report: DroppedReport }> {
  const project = await findProject(unit.tx, agent.project_id);
  if (!project) throw new KasmapError("not_found", NOT_FOUND.project);
  const paths = collectConfigPaths(config);
  const lookup = await loadRegistryLookup(unit.tx, paths);
  const resolved = resolveAgentConfig(config, project, lookup);
  const report = boundDroppedEntries(resolved.dropped);
  const before = await currentGrants(unit.tx, agent.id);
  try {
    publishGrantChange(unit, agent, cause, before, resolved.grants, report);
  } catch (error) {
    if (!isKasmapError(error, "payload_too_large")) throw error;
    throw new KasmapError(
      "payload_too_large",
      `the authorizations this configuration resolves to do not fit in one event: ${error.message}`,
    );
  }
  await storeAgentConfig(unit.tx, agent.id, { yaml, grants: resolved.grants, ...report }, paths);
  return { grants: resolved.grants, report };
}

/**
 * Publishes that a config was refused (`config_refused`, with `refusal`): the grants in force
 * and the dropped report of the config before it stay, and nothing is stored. For files that
 * exist elsewhere and cannot be refused (GitLab mode), so the refusal is on the record.
 */
export async function recordConfigRefusal(
  unit: UnitOfWork,
  agent: AgentRef,
  refusal: ConfigRefusal,
): Promise<{ grants: AgentGrantSet; report: DroppedReport }> {
  const stored = await findAgentConfig(unit.tx, agent.id);
  const grants = stored?.grants ?? EMPTY_GRANT_SET;
  const report = stored ? { dropped_count: stored.dropped_count, dropped: stored.dropped } : NO_DROPPED;
  emitAuthzChange(unit, {
    agent_id: agent.id,
    config_project_id: agent.project_id,
    cause: "config_refused",
    grants,
    added: [],
    removed: [],
    ...report,
    refusal,
  });
  return { grants, report };
}

/**
 * One deletion of an agent: its time (the agent's `deleted_at`) and its number (the agent's count
 * of deletions, this one included), as the agent's registry record carries them.
 */
export type AgentDeletion = { at: Date; number: number };

/**
 * Clears an agent's grants (it was deleted: `deletion`) and publishes the empty set with the
 * deletion's number (`deletion`) and stamped with its time: the projection pairs it with the
 * agent's registry record of the same deletion by the number (by the time, for records of an
 * authz that predates the number).
 */
export async function revokeAgentGrants(
  unit: UnitOfWork,
  agent: AgentRef,
  deletion: AgentDeletion,
): Promise<void> {
  const stored = await findAgentConfig(unit.tx, agent.id);
  const before = stored?.grants ?? EMPTY_GRANT_SET;
  if (stored) {
    const cleared = { yaml: stored.yaml, grants: EMPTY_GRANT_SET, ...NO_DROPPED };
    await storeAgentConfig(unit.tx, agent.id, cleared, { projects: [], groups: [] });
  }
  publishGrantChange(unit, agent, "agent_deleted", before, EMPTY_GRANT_SET, NO_DROPPED, deletion);
}

/**
 * Re-resolves an agent's stored config after the registry moved under it. A stored config that
 * no longer parses (it was valid when accepted) is left in force rather than dropped. When the
 * move makes the config resolve to grants too large for one event (entries that now resolve,
 * expanded through YAML aliases), the move is refused `payload_too_large` naming the agent:
 * keeping stale grants could keep access a move removed, and dropping them all would punish an
 * unrelated move, so the config's owner must shrink it first.
 */
export async function reresolveAgentConfig(unit: UnitOfWork, agent: AgentRef, cause: Cause): Promise<void> {
  const stored = await findAgentConfig(unit.tx, agent.id);
  if (!stored) {
    publishGrantChange(unit, agent, cause, EMPTY_GRANT_SET, EMPTY_GRANT_SET, NO_DROPPED);
    return;
  }
  const parsed = parseAgentConfig(stored.yaml);
  if (!parsed.ok) return;
  try {
    await applyAgentConfig(unit, agent, stored.yaml, parsed.config, cause);
  } catch (error) {
    if (!isKasmapError(error, "payload_too_large")) throw error;
    throw new KasmapError(
      "payload_too_large",
      `this move would make agent ${agent.id}'s configuration resolve to more than one event holds; shrink that configuration first (${error.message})`,
    );
  }
}

/**
 * `io.kasmap.authz.changed.v1` with the whole set, as an agent's creation also announces. With
 * `deletion` (cause `agent_deleted`): the deletion's number in `deletion`, its time as `time`.
 */
export function publishGrantChange(
  unit: UnitOfWork,
  agent: AgentRef,
  cause: Cause,
  before: AgentGrantSet,
  after: AgentGrantSet,
  report: DroppedReport,
  deletion?: AgentDeletion,
): void {
  const diff = diffGrantSets(before, after);
  emitAuthzChange(
    unit,
    {
      agent_id: agent.id,
      config_project_id: agent.project_id,
      cause,
      grants: after,
      added: diff.added,
      removed: diff.removed,
      ...report,
      ...(deletion === undefined ? {} : { deletion: deletion.number }),
    },
    deletion?.at,
  );
}
