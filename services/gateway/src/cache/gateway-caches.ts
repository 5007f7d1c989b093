import { ALL_READ_MODEL_TABLES } from "@kasmap/db";
import type { StandalonePrincipal } from "../auth/authenticate.ts";
import type { SerializedClusterFacts } from "../http/agent-body-json.ts";
import type { AgentWithProject } from "../read-model/agent-queries.ts";
import type { CollectorConnectionRow } from "../read-model/collector-connections.ts";
import type { ProjectRow } from "../read-model/registry-queries.ts";
import { InvalidatingCache } from "./invalidating-cache.ts";

/**
 * Every read-model table (without schema). A notice naming a table outside this list (a table
 * added after this gateway was built) clears every cache: unknown means "could be anything".
 */
const KNOWN_TABLES: ReadonlySet<string> = new Set(ALL_READ_MODEL_TABLES);

/**
 * The gateway's hot-read caches, each dropped whole when a table it depends on changes.
 * Dropping whole caches (not single keys) keeps correctness independent of what a notice's
 * payload says. `groups` is a dependency of project-shaped entries because a group rename or move
 * rewrites its projects' full paths and names. Cluster facts and heartbeats are split so frequent heartbeats do not drop the
 * (larger) facts.
 */
export function createGatewayCaches(isEnabled: () => boolean) {
  const caches = {
    /** Key: `<credential kind>:<sha256 of token>`; the plaintext is never kept. */
    principals: new InvalidatingCache<string, StandalonePrincipal | null>(
      "principals",
      ["personal_access_tokens", "users", "jobs"],
      isEnabled,
    ),
    /** Key: `id:<n>` or `path:<lower-case full path>`. */
    projects: new InvalidatingCache<string, ProjectRow | null>("projects", ["projects", "groups"], isEnabled),
    /** Key: `<user id>:<project id>`; value: the highest access level, 0 for none. */
    projectAccessLevels: new InvalidatingCache<string, number>(
      "project_access_levels",
      ["memberships", "projects", "groups", "users"],
      isEnabled,
    ),
    /** Key: agent id; the agent with its configuration project (for its body and permission). */
    agents: new InvalidatingCache<number, AgentWithProject | null>(
      "agents",
      ["agents", "projects"],
      isEnabled,
    ),
    /** Key: agent id; the latest snapshot's facts with their JSON text (the hot read splices it). */
    clusterFacts: new InvalidatingCache<number, SerializedClusterFacts | null>(
      "cluster_facts",
      ["cluster_snapshots"],
      isEnabled,
    ),
    lastHeartbeats: new InvalidatingCache<number, Date | null>(
      "last_heartbeats",
      ["agent_connections"],
      isEnabled,
    ),
    /**
     * Key: agent id; its collectors, newest heartbeat first. The heartbeat that writes
     * `collector_connections` writes `agent_connections` too, whose notice drops this entry.
     */
    collectorConnections: new InvalidatingCache<number, CollectorConnectionRow[]>(
      "collector_connections",
      ["agent_connections", "collector_connections"],
      isEnabled,
    ),
  };
  const all = Object.values(caches);
  return {
    ...caches,
    all,
    /** Drops the caches depending on `table` (`agents` or `read_model.agents`). */
    tableChanged(table: string): void {
      const name = table.replace(/^read_model\./, "");
      for (const cache of all) {
        if (!KNOWN_TABLES.has(name) || cache.tables.includes(name)) cache.clear();
      }
    },
    clearAll(): void {
      for (const cache of all) cache.clear();
    },
  };
}
export type GatewayCaches = ReturnType<typeof createGatewayCaches>;
