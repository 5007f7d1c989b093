import { describe, expect, it } from "vitest";
import type { ProjectRow } from "../read-model/registry-queries.ts";
import { createGatewayCaches } from "./gateway-caches.ts";

const caches = () =>
  createGatewayCaches({ isEnabled: () => true, ttlMs: 60_000, maxBytes: 64 * 1024 * 1024 });
const project = (id: number, traversalIds: number[]) =>
  ({ id, traversal_ids: traversalIds, path_with_namespace: `g/p${id}` }) as unknown as ProjectRow;
const level = (value: number, id: number, traversalIds: number[]) => async () => ({
  level: value,
  project: { id, traversal_ids: traversalIds },
});

/** An agent's connections as cached: last seen at `ms`, no collectors. */
const seen = (ms: number) => ({ lastHeartbeat: new Date(ms), silenceConfirmedAt: null, collectors: [] });

describe("createGatewayCaches: a change notice drops only what it names", () => {
  it("a heartbeat of agent 7 drops agent 7's heartbeat, not another agent's nor its facts", async () => {
    const c = caches();
    await c.connections.get(7, async () => seen(1));
    await c.connections.get(8, async () => seen(2));
    await c.clusterFacts.get(7, async () => null);
    c.noticeReceived({ table: "agent_connections", agent_id: 7 });
    expect(c.connections.size).toBe(1);
    expect(await c.connections.get(8, async () => seen(3))).toEqual(seen(2));
    expect(c.clusterFacts.size).toBe(1);
  });

  it("a membership of user 5 drops user 5's access levels only", async () => {
    const c = caches();
    await c.projectAccessLevels.get("5:20", level(30, 20, [10]));
    await c.projectAccessLevels.get("6:20", level(40, 20, [10]));
    c.noticeReceived({ table: "memberships", user_id: 5, group_id: 10 });
    expect(await c.projectAccessLevels.get("5:20", level(50, 20, [10]))).toEqual(
      expect.objectContaining({ level: 50 }),
    );
    expect(await c.projectAccessLevels.get("6:20", level(0, 20, [10]))).toEqual(
      expect.objectContaining({ level: 40 }),
    );
  });

  it("a membership or user notice of user 5 drops user 5's memberships only", async () => {
    const c = caches();
    const none = async () => ({ projects: new Map(), groups: new Map() });
    await c.userMemberships.get(5, none);
    await c.userMemberships.get(6, none);
    c.noticeReceived({ table: "memberships", user_id: 5, project_id: 20 });
    expect(c.userMemberships.peek(5)).toBeUndefined();
    expect(c.userMemberships.peek(6)).toBeDefined();
    c.noticeReceived({ table: "users", user_id: 6 });
    expect(c.userMemberships.size).toBe(0);
  });

  it("a group change drops the projects and agents beneath it, and unknown paths", async () => {
    const c = caches();
    await c.projects.get("id:20", async () => project(20, [10, 11]));
    await c.projects.get("id:21", async () => project(21, [30]));
    await c.projects.get("path:g/new", async () => null);
    await c.agents.get(1, async () => ({ agent: {} as never, project: project(20, [10, 11]) }));
    await c.agents.get(2, async () => ({ agent: {} as never, project: project(21, [30]) }));
    c.noticeReceived({ table: "groups", group_id: 11 });
    expect(c.projects.size).toBe(1);
    expect(c.agents.size).toBe(1);
    expect(await c.agents.get(2, async () => null)).not.toBeNull();
  });

  it("a new token of user 5 drops user 5's principals and the cached unknown tokens", async () => {
    const c = caches();
    const principal = (id: number) => ({ kind: "user", user: { id } }) as never;
    await c.principals.get("pat:a", async () => principal(5));
    await c.principals.get("pat:b", async () => principal(6));
    await c.principals.get("pat:c", async () => null);
    c.noticeReceived({ table: "personal_access_tokens", user_id: 5 });
    expect(c.principals.size).toBe(1);
    expect(await c.principals.get("pat:b", async () => null)).not.toBeNull();
  });

  it("a notice without the id a cache needs drops that cache; an unknown table drops all", async () => {
    const c = caches();
    await c.connections.get(7, async () => seen(1));
    await c.clusterFacts.get(7, async () => null);
    c.noticeReceived({ table: "agent_connections" });
    expect(c.connections.size).toBe(0);
    expect(c.clusterFacts.size).toBe(1);
    c.noticeReceived({ table: "a_table_added_later" });
    expect(c.clusterFacts.size).toBe(0);
  });
});
