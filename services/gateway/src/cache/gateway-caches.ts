import type { ReadModelNotice } from "@kasmap/contracts";
import { ALL_READ_MODEL_TABLES } from "@kasmap/db";
import type { StandalonePrincipal } from "../auth/authenticate.ts";
import type { SerializedClusterFacts } from "../http/agent-body-json.ts";
import type { UserMemberships } from "../permissions/access-levels.ts";
import type { AgentWithProject } from "../read-model/agent-queries.ts";
import type { BatchedLoads } from "../read-model/batched-loads.ts";
import type { AgentConnectionsRead } from "../read-model/collector-connections.ts";
import type { ProjectRow } from "../read-model/registry-queries.ts";
import { HotReadMemo } from "./hot-read-memo.ts";
import { InvalidatingCache } from "./invalidating-cache.ts";
import { RenderedBodies } from "./rendered-bodies.ts";

/**
 * Every read-model table (without schema). A notice naming a table outside this list (a table
 * added after this gateway was built) clears every cache: unknown means "could be anything".
 */
const KNOWN_TABLES: ReadonlySet<string> = new Set(ALL_READ_MODEL_TABLES);

/** The ids a change notice may name (`ReadModelNotice`), the table without its schema. */
export type CacheNotice = Pick<ReadModelNotice, "agent_id" | "project_id" | "group_id" | "user_id"> & {
  table: string;
};
type NoticeId = "agent_id" | "project_id" | "group_id" | "user_id";

/**
 * What a notice on one table drops from one cache: the entry whose key is the notice's `id`
 * (`drop: "key"`), or the entries tagged `<drop>:<id>`; `unknown` also drops the cached
 * "no such row" answers, which a new row can turn into a hit. A notice without the id drops
 * the whole cache.
 */
type DropRule = { id: NoticeId; drop: "key" | "user" | "project" | "group"; unknown?: boolean };

/** Tag of cached "no such row" answers (a token or path that matched nothing). */
const UNKNOWN = "unknown";

/** A project-shaped row's tags: its own id and every group on its path (a group move renames it). */
function projectTags(project: Pick<ProjectRow, "id" | "traversal_ids">): string[] {
  return [`project:${project.id}`, ...project.traversal_ids.map((id) => `group:${id}`)];
}

/** What a notice does to one cache: drop an entry by id, entries by tag, or everything. */
type NoticeTarget = { dropKey(id: number): void; dropTag(tag: string): void; clear(): void };

/** A cache keyed by the ids notices carry (agent ids). */
function idTarget<V>(cache: InvalidatingCache<number, V>): NoticeTarget {
  return {
    dropKey: (id) => cache.dropKey(id),
    dropTag: (tag) => cache.dropTag(tag),
    clear: () => cache.clear(),
  };
}

/** A cache keyed by strings of its own, reached by tags; an id-keyed drop clears it (never used). */
function taggedTarget<V>(cache: InvalidatingCache<string, V>): NoticeTarget {
  return { dropKey: () => cache.clear(), dropTag: (tag) => cache.dropTag(tag), clear: () => cache.clear() };
}

/** A project's access level for a user, with the groups whose changes can alter it. */
export type CachedAccessLevel = { level: number; project: Pick<ProjectRow, "id" | "traversal_ids"> };

export type GatewayCacheOptions = {
  /** False while NATS is disconnected: notices may be missed, so nothing may be cached. */
  isEnabled: () => boolean;
  /** The backstop for a lost notice: an entry is served at most this long, ms. */
  ttlMs: number;
  /** All caches together hold at most this many (approximate) bytes; each has a fixed share. */
  maxBytes: number;
  /**
   * The loads that `refreshDue` uses to keep read entries fresh without a reader; a cache without
   * one is refreshed by reads only.
   */
  reloads?: CacheReloads;
};

/**
 * How `refreshDue` reloads an entry of each cache by its key: the per-agent caches through the
 * batched loads; principals and memberships in standalone mode only (GitLab mode does not use
 * them).
 */
export type CacheReloads = Pick<BatchedLoads, "agent" | "clusterFacts" | "connections"> & {
  project?: (key: string) => Promise<ProjectRow | null>;
  principal?: (key: string) => Promise<StandalonePrincipal | null>;
  userMemberships?: (userId: number) => Promise<UserMemberships | "too_many">;
};

/** How far ahead of an entry's refresh time `refreshDue` reloads it: more than its timer's period. */
export const REFRESH_DUE_WITHIN_MS = 2_000;

/**
 * Entries live between `(1 - TTL_JITTER) × ttlMs` and `ttlMs`: the entries a burst of reads
 * loaded together (a cold start, a reconnect) then expire spread over a quarter of the TTL
 * instead of all in the same second, which sent their reloads to PostgreSQL at once.
 */
const TTL_JITTER = 0.25;

/**
 * Past this fraction of its lifetime an entry that is read is reloaded in the background while
 * it is still served: under a steady read load the TTL backstop then costs no reader a wait for
 * PostgreSQL (before, the expiries were two thirds of the hot read's misses and its p99).
 */
const REFRESH_AHEAD = 0.75;

/** `KASMAP_GATEWAY_CACHE_TTL_SECONDS`' default: 60 s, the longest a lost notice can leave a stale answer. */
export const DEFAULT_CACHE_TTL_MS = 60_000;
/**
 * `KASMAP_GATEWAY_CACHE_MAX_MIB`'s default: 128 MiB for all caches together, of which cluster
 * facts take 42 %: ~1,250 agents of 100-node dual-stack clusters (~42 KB each with their text),
 * the rendered hot-read bodies 10 %: ~1,300 of ~10 KB, the rendered `cluster_info` bodies 5 %
 * (~25 of a 5,000-node cluster's ~0.25 MB), and the hot reads' verdicts 3 %.
 */
export const DEFAULT_CACHE_MAX_BYTES = 128 * 1024 * 1024;

/**
 * The gateway's hot-read caches. Each change notice drops only the entries it names: a snapshot
 * of agent 7 drops agent 7's facts, a membership of user 5 drops user 5's access levels, a group
 * rename drops the projects (and their agents) under it. Cluster facts and connections are split
 * so frequent heartbeats do not drop the (larger) facts. Each cache holds a share of `maxBytes`.
 */
export function createGatewayCaches(options: GatewayCacheOptions) {
  const cache = <K extends string | number, V>(
    name: string,
    share: number,
    tagsOf?: (key: K, value: V) => readonly string[],
    reload?: (key: K) => Promise<V>,
  ) =>
    new InvalidatingCache<K, V>({
      name,
      isEnabled: options.isEnabled,
      ttlMs: options.ttlMs,
      ttlJitter: TTL_JITTER,
      refreshAhead: REFRESH_AHEAD,
      maxBytes: Math.floor(options.maxBytes * share),
      ...(tagsOf ? { tagsOf } : {}),
      ...(reload ? { reload } : {}),
    });
  const reloads = options.reloads;
  const caches = {
    /** Key: `<credential kind>:<sha256 of token>`; the plaintext is never kept. */
    principals: cache<string, StandalonePrincipal | null>(
      "principals",
      0.05,
      (_key, principal) => (principal === null ? [UNKNOWN] : [`user:${principal.user.id}`]),
      reloads?.principal,
    ),
    /** Key: `id:<n>` or `path:<lower-case full path>`. */
    projects: cache<string, ProjectRow | null>(
      "projects",
      0.05,
      (_key, project) => (project === null ? [UNKNOWN] : projectTags(project)),
      reloads?.project,
    ),
    /**
     * Key: user id; all their memberships, from which every project level is decided in memory
     * (one entry per user instead of one per user and project: 10× fewer loads for a user of 10
     * projects), or "too_many" for a user with more than the gateway holds whole.
     */
    userMemberships: cache<number, UserMemberships | "too_many">(
      "user_memberships",
      0.05,
      undefined,
      reloads?.userMemberships,
    ),
    /**
     * Key: `<user id>:<project id>`, for users with "too_many" memberships only; value: the
     * highest access level (0 for none) and the project.
     */
    projectAccessLevels: cache<string, CachedAccessLevel>("project_access_levels", 0.05, (key, value) => [
      `user:${key.slice(0, key.indexOf(":"))}`,
      ...projectTags(value.project),
    ]),
    /** Key: agent id; the agent with its configuration project (for its body and permission). */
    agents: cache<number, AgentWithProject | null>(
      "agents",
      0.1,
      (_key, found) => (found === null ? [] : projectTags(found.project)),
      reloads?.agent,
    ),
    /** Key: agent id; the latest snapshot's facts with their JSON text (the hot read splices it). */
    clusterFacts: cache<number, SerializedClusterFacts | null>(
      "cluster_facts",
      0.42,
      undefined,
      reloads?.clusterFacts,
    ),
    /**
     * Key: agent id; its last heartbeat and collectors, newest heartbeat first. The heartbeat
     * that writes `collector_connections` writes `agent_connections` too: either notice drops
     * the entry, and one query reloads both.
     */
    connections: cache<number, AgentConnectionsRead>(
      "agent_connections",
      0.1,
      undefined,
      reloads?.connections,
    ),
    /**
     * Key: agent id; the hot read's whole body (agent + cluster_info) as bytes, reused while it
     * was rendered from the very entries above that the read holds now (`RenderedBodies`), so
     * it follows their notices and TTL without rules of its own; with those entries' stamps, so
     * that the hot read finds it current without looking them up. Never per user.
     */
    agentReadBodies: new RenderedBodies<number>({
      name: "agent_read_bodies",
      isEnabled: options.isEnabled,
      maxBytes: Math.floor(options.maxBytes * 0.1),
    }),
    /**
     * Key: agent id; `GET …/cluster_info`'s body as bytes, reused while it was rendered from the
     * very facts and connections entries above that the read holds now (as `agentReadBodies`).
     */
    clusterInfoBodies: new RenderedBodies<number>({
      name: "cluster_info_bodies",
      isEnabled: options.isEnabled,
      maxBytes: Math.floor(options.maxBytes * 0.05),
    }),
    /**
     * Key: the caller's principal key and the agent id (within its project id); the hot read's
     * verdict that the caller may read the agent, valid while every entry it was decided from
     * (principal, memberships, project, agent) is (`HotReadMemo`): a repeated read skips the
     * token's checks and the permission. Not the body, which is the agent's (`agentReadBodies`):
     * a heartbeat renders the body again once and ends no verdict.
     * ~136 bytes each: ~29,000 (caller, agent) pairs.
     */
    hotAgentReads: new HotReadMemo<true>({
      name: "hot_agent_reads",
      isEnabled: options.isEnabled,
      maxBytes: Math.floor(options.maxBytes * 0.03),
    }),
  };
  const rules: ReadonlyArray<{ cache: NoticeTarget; tables: Readonly<Record<string, DropRule>> }> = [
    {
      cache: taggedTarget(caches.principals),
      tables: {
        personal_access_tokens: { id: "user_id", drop: "user", unknown: true },
        users: { id: "user_id", drop: "user" },
        jobs: { id: "user_id", drop: "user", unknown: true },
      },
    },
    {
      cache: taggedTarget(caches.projects),
      tables: {
        projects: { id: "project_id", drop: "project", unknown: true },
        groups: { id: "group_id", drop: "group", unknown: true },
      },
    },
    {
      cache: idTarget(caches.userMemberships),
      tables: {
        memberships: { id: "user_id", drop: "key" },
        users: { id: "user_id", drop: "key" },
      },
    },
    {
      cache: taggedTarget(caches.projectAccessLevels),
      tables: {
        memberships: { id: "user_id", drop: "user" },
        users: { id: "user_id", drop: "user" },
        projects: { id: "project_id", drop: "project" },
        groups: { id: "group_id", drop: "group" },
      },
    },
    {
      cache: idTarget(caches.agents),
      tables: {
        agents: { id: "agent_id", drop: "key" },
        projects: { id: "project_id", drop: "project" },
        groups: { id: "group_id", drop: "group" },
      },
    },
    { cache: idTarget(caches.clusterFacts), tables: { cluster_snapshots: { id: "agent_id", drop: "key" } } },
    {
      cache: idTarget(caches.connections),
      tables: {
        agent_connections: { id: "agent_id", drop: "key" },
        collector_connections: { id: "agent_id", drop: "key" },
      },
    },
  ];
  const all = Object.values(caches);
  const clearAll = () => {
    for (const each of all) each.clear();
  };
  return {
    ...caches,
    all,
    /**
     * Drops what `notice` makes stale: per key or tag when it names the id a cache needs, the
     * whole cache when it does not, every cache for a table this gateway does not know.
     */
    noticeReceived(notice: CacheNotice): void {
      const table = notice.table.replace(/^read_model\./, "");
      if (!KNOWN_TABLES.has(table)) {
        clearAll();
        return;
      }
      for (const { cache: target, tables } of rules) {
        const rule = tables[table];
        if (!rule) continue;
        const id = notice[rule.id];
        if (id === undefined) {
          target.clear();
        } else if (rule.drop === "key") {
          target.dropKey(id);
        } else {
          target.dropTag(`${rule.drop}:${id}`);
          if (rule.unknown) target.dropTag(UNKNOWN);
        }
      }
    },
    clearAll,
    /**
     * Starts the background reloads of read entries whose refresh time is near (`refreshDue` of
     * the caches given `reloads`); the gateway calls it every second. Returns how many started.
     */
    refreshDue(): number {
      let started = 0;
      for (const each of all)
        if (each instanceof InvalidatingCache) started += each.refreshDue(REFRESH_DUE_WITHIN_MS);
      return started;
    },
  };
}
export type GatewayCaches = ReturnType<typeof createGatewayCaches>;
