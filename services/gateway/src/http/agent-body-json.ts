import { type ClusterFacts, CONNECTED_WITHIN_MS } from "@kasmap/contracts";
import type { StoredClusterFacts } from "@kasmap/db";
import type { AgentRow } from "../read-model/agent-queries.ts";
import {
  agentPodIpOf,
  type CollectorConnectionRow,
  liveConnections,
} from "../read-model/collector-connections.ts";
import { connectionsAsOf, deploymentStatus, type HeartbeatState } from "../read-model/deployment-status.ts";
import type { ProjectRow } from "../read-model/registry-queries.ts";
import { agentBody } from "./gitlab-bodies.ts";

/**
 * The single-agent read (`GET …/cluster_agents/:agent_id?with_cluster_info=true`) is the
 * gateway's hottest response and ~9 KB for a large cluster. Its parts change at different
 * rates: the agent body and the snapshot's facts only with read-model rows (their cache entries
 * are dropped on change notices), `deployment_status` and `last_connection` with the clock. So
 * the slow parts are serialized once per cache entry and the clock-dependent fields are spliced
 * in per request; the result is byte-for-byte what `JSON.stringify` of the composed object
 * gives (`{...facts, agent_pod_ip, deployment_status, last_connection, connections}`, keys in
 * that order, `agent_pod_ip` in its place among the facts).
 */

/**
 * A snapshot's facts together with their JSON text, serialized once when loaded into the cache,
 * and that text cut around `agent_pod_ip`'s value, which the newest heartbeat may replace.
 */
export type SerializedClusterFacts = {
  readonly facts: ClusterFacts;
  /** The stream sequence of the snapshot event that wrote them (`cluster_snapshots.stream_seq`). */
  readonly seq: number;
  readonly json: string;
  /** The text before and after `agent_pod_ip`'s value; null if it could not be cut cleanly. */
  readonly aroundPodIp: readonly [string, string] | null;
};

/** Stands for `agent_pod_ip`'s value while cutting the text; no Kubernetes value holds NULs. */
const POD_IP_PLACEHOLDER = "\u0000agent_pod_ip\u0000";

export function serializeClusterFacts({ facts, seq }: StoredClusterFacts): SerializedClusterFacts {
  // Replacing the value of an existing key keeps the key order of `JSON.stringify(facts)`.
  const marked = JSON.stringify({ ...facts, agent_pod_ip: POD_IP_PLACEHOLDER });
  const parts = marked.split(JSON.stringify(POD_IP_PLACEHOLDER));
  const [before, after] = parts;
  return {
    facts,
    seq,
    json: JSON.stringify(facts),
    aroundPodIp: parts.length === 2 && before !== undefined && after !== undefined ? [before, after] : null,
  };
}

/** The facts' text with `agent_pod_ip` set to `podIp`. */
function factsJsonWithPodIp(facts: SerializedClusterFacts, podIp: string | null): string {
  if (podIp === facts.facts.agent_pod_ip) return facts.json;
  if (facts.aroundPodIp === null) return JSON.stringify({ ...facts.facts, agent_pod_ip: podIp });
  return `${facts.aroundPodIp[0]}${JSON.stringify(podIp)}${facts.aroundPodIp[1]}`;
}

/**
 * `cluster_info` as JSON text: `null` before the first snapshot, else the facts' text (its
 * `agent_pod_ip` from the newest heartbeat that names one) with `"deployment_status"`
 * (`deploymentStatus` at `nowMs`), `"last_connection"` and `"connections"` (live at `nowMs`, or
 * when the agent was last heard from while its status is `unknown`: `connectionsAsOf`) appended.
 */
export function clusterInfoJson(
  facts: SerializedClusterFacts | null,
  heartbeat: HeartbeatState,
  nowMs: number,
  collectors: readonly CollectorConnectionRow[] = [],
): string {
  if (facts === null) return "null";
  const status = deploymentStatus(heartbeat, nowMs);
  const { lastHeartbeat } = heartbeat;
  const lastConnection = lastHeartbeat === null ? "null" : `"${lastHeartbeat.toISOString()}"`;
  const asOf = connectionsAsOf(heartbeat, nowMs);
  const text = factsJsonWithPodIp(facts, agentPodIpOf(facts.facts.agent_pod_ip, collectors, asOf));
  const connections = JSON.stringify(liveConnections(collectors, asOf));
  // The facts are a non-empty object without these keys (their schema has none of them), so
  // replacing the closing brace keeps the text a valid object with no duplicate key.
  return `${text.slice(0, -1)},"deployment_status":"${status}","last_connection":${lastConnection},"connections":${connections}}`;
}

/**
 * The first moment after `nowMs` at which `clusterInfoJson` of the same parts can give another
 * text, ms (Infinity: never by the clock alone): when the last heartbeat, or a live collector's,
 * becomes older than `CONNECTED_WITHIN_MS` (`deployment_status`, `connections` and
 * `agent_pod_ip` are decided by those comparisons and nothing else of the clock; once the last
 * heartbeat is that old they are decided at that heartbeat (`connectionsAsOf`), and `unknown`
 * turns `disconnected` only with a row, the confirmed silence, whose notice renews the parts).
 */
export function clusterInfoChangesAt(
  lastHeartbeatAt: Date | null,
  collectors: readonly CollectorConnectionRow[],
  nowMs: number,
): number {
  let at = Number.POSITIVE_INFINITY;
  const consider = (heartbeatMs: number) => {
    const expires = heartbeatMs + CONNECTED_WITHIN_MS;
    if (expires > nowMs && expires < at) at = expires;
  };
  if (lastHeartbeatAt !== null) consider(lastHeartbeatAt.getTime());
  for (const row of collectors) if (row.stopped_at === null) consider(row.last_heartbeat_at.getTime());
  return at;
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
