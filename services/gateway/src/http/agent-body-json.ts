import type { ClusterFacts } from "@kasmap/contracts";
import type { AgentRow } from "../read-model/agent-queries.ts";
import { deploymentStatus } from "../read-model/deployment-status.ts";
import type { ProjectRow } from "../read-model/registry-queries.ts";
import { agentBody } from "./gitlab-bodies.ts";

/**
 * The single-agent read (`GET …/cluster_agents/:agent_id?with_cluster_info=true`) is the
 * gateway's hottest response and ~9 KB for a large cluster. Its parts change at different
 * rates: the agent body and the snapshot's facts only with read-model rows (their cache entries
 * are dropped on change notices), `deployment_status` and `last_connection` with the clock. So
 * the slow parts are serialized once per cache entry and the clock-dependent fields are spliced
 * in per request; the result is byte-for-byte what `JSON.stringify` of the composed object
 * gives (`{...facts, deployment_status, last_connection}`, keys in that order).
 */

/** A snapshot's facts together with their JSON text, serialized once when loaded into the cache. */
export type SerializedClusterFacts = { readonly facts: ClusterFacts; readonly json: string };

export function serializeClusterFacts(facts: ClusterFacts): SerializedClusterFacts {
  return { facts, json: JSON.stringify(facts) };
}

/**
 * `cluster_info` as JSON text: `null` before the first snapshot, else the facts' text with
 * `"deployment_status"` (from the heartbeat's age at `nowMs`) and `"last_connection"` appended.
 */
export function clusterInfoJson(
  facts: SerializedClusterFacts | null,
  lastHeartbeatAt: Date | null,
  nowMs: number,
): string {
  if (facts === null) return "null";
  const status = deploymentStatus(lastHeartbeatAt, nowMs);
  const lastConnection = lastHeartbeatAt === null ? "null" : `"${lastHeartbeatAt.toISOString()}"`;
  // The facts are a non-empty object without these two keys (their schema has neither), so
  // replacing the closing brace keeps the text a valid object with no duplicate key.
  return `${facts.json.slice(0, -1)},"deployment_status":"${status}","last_connection":${lastConnection}}`;
}

/**
 * Agent bodies by row: valid while the row object lives, which is as long as its cache entry
 * (rows are never mutated; a notice drops the entry and the next load makes new objects). The
 * configuration project is compared by identity, so a body is reused only for the very rows it
 * was built from.
 */
const agentBodies = new WeakMap<AgentRow, { project: ProjectRow; json: string }>();

/** `JSON.stringify(agentBody(agent, configProject))`, memoized per row object. */
export function agentBodyJson(agent: AgentRow, configProject: ProjectRow): string {
  const memo = agentBodies.get(agent);
  if (memo?.project === configProject) return memo.json;
  const json = JSON.stringify(agentBody(agent, configProject));
  agentBodies.set(agent, { project: configProject, json });
  return json;
}

/** The agent body's text with `"cluster_info"` (JSON text) appended as its last key. */
export function agentWithClusterInfoJson(agentJson: string, infoJson: string): string {
  return `${agentJson.slice(0, -1)},"cluster_info":${infoJson}}`;
}
