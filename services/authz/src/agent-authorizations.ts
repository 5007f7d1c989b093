import { diffGrantSets, parseAgentConfig, resolveAgentConfig } from "@kasmap/authz";
import {
  type AgentConfig,
  type AgentGrantSet,
  type AuthzChangedDataSchema,
  type DroppedEntry,
  EMPTY_GRANT_SET,
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

/**
 * Parses a config file, or refuses it with GitLab-style field errors naming the line:
 * `{"ci_access.projects[0].access_as": ["line 4: must set exactly one of …"]}`.
 */
export function parseConfigOrRefuse(yaml: string): AgentConfig {
  const parsed = parseAgentConfig(yaml);
  if (parsed.ok) return parsed.config;
  const fields: Record<string, string[]> = {};
  for (const issue of parsed.errors) {
    const key = issue.path || "config";
    const message = issue.line === null ? issue.message : `line ${issue.line}: ${issue.message}`;
    fields[key] = [...(fields[key] ?? []), message];
  }
  throw new KasmapError("validation_failed", "invalid agent configuration", { fields });
}

/**
 * Resolves `config` against the registry as it is in this transaction, stores the result and
 * publishes the agent's whole new grant set with what was added, removed and dropped.
 */
export async function applyAgentConfig(
  unit: UnitOfWork,
  agent: AgentRef,
  yaml: string,
  config: AgentConfig,
  cause: Cause,
): Promise<{ grants: AgentGrantSet; dropped: DroppedEntry[] }> {
  const project = await findProject(unit.tx, agent.project_id);
  if (!project) throw new KasmapError("not_found", NOT_FOUND.project);
  const paths = collectConfigPaths(config);
  const lookup = await loadRegistryLookup(unit.tx, paths);
  const resolved = resolveAgentConfig(config, project, lookup);
  const before = await currentGrants(unit.tx, agent.id);
  await storeAgentConfig(
    unit.tx,
    agent.id,
    { yaml, grants: resolved.grants, dropped: resolved.dropped },
    paths,
  );
  publishGrantChange(unit, agent, cause, before, resolved.grants, resolved.dropped);
  return resolved;
}

/** Clears an agent's grants (it was deleted) and publishes the empty set. */
export async function revokeAgentGrants(unit: UnitOfWork, agent: AgentRef): Promise<void> {
  const stored = await findAgentConfig(unit.tx, agent.id);
  const before = stored?.grants ?? EMPTY_GRANT_SET;
  if (stored) {
    const cleared = { yaml: stored.yaml, grants: EMPTY_GRANT_SET, dropped: [] };
    await storeAgentConfig(unit.tx, agent.id, cleared, { projects: [], groups: [] });
  }
  publishGrantChange(unit, agent, "agent_deleted", before, EMPTY_GRANT_SET, []);
}

/**
 * Re-resolves an agent's stored config after the registry moved under it. A stored config that
 * no longer parses (it was valid when accepted) is left in force rather than dropped.
 */
export async function reresolveAgentConfig(unit: UnitOfWork, agent: AgentRef, cause: Cause): Promise<void> {
  const stored = await findAgentConfig(unit.tx, agent.id);
  if (!stored) {
    publishGrantChange(unit, agent, cause, EMPTY_GRANT_SET, EMPTY_GRANT_SET, []);
    return;
  }
  const parsed = parseAgentConfig(stored.yaml);
  if (!parsed.ok) return;
  await applyAgentConfig(unit, agent, stored.yaml, parsed.config, cause);
}

/** `io.kasmap.authz.changed.v1` with the whole set, as an agent's creation also announces. */
export function publishGrantChange(
  unit: UnitOfWork,
  agent: AgentRef,
  cause: Cause,
  before: AgentGrantSet,
  after: AgentGrantSet,
  dropped: DroppedEntry[],
): void {
  const diff = diffGrantSets(before, after);
  emitAuthzChange(unit, {
    agent_id: agent.id,
    config_project_id: agent.project_id,
    cause,
    grants: after,
    added: diff.added,
    removed: diff.removed,
    dropped,
  });
}
