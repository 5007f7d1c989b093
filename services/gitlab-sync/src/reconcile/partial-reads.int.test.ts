import { requestCommand } from "@kasmap/bus";
import { createDatabase } from "@kasmap/db";
import { Registry } from "@kasmap/runtime/metrics";
import { type GitLabSimulator, startGitLabSimulator } from "@kasmap/testing/gitlab-simulator";
import { sampleValue } from "@kasmap/testing/prometheus-text";
import { type KasmapSystem, startKasmapSystem } from "@kasmap/testing/system";
import { type Kysely, sql } from "kysely";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { GitLabSync } from "../index.ts";
import { startSyncBeside } from "../testing/sync-beside.ts";

/**
 * A full reconcile whose reads of one item GitLab will not answer — a project's agent listing
 * (403, 404, 5xx; on its first page or part-way through), an agent's config file — neither
 * removes that item's agents or grants nor stops the walk: it completes, sweeps what GitLab
 * deleted elsewhere, and names what it could not read. A project GitLab deleted after its page
 * was read is removed. The whole system beside the GitLab simulator; the faults are injected by
 * the sync's fetch.
 */
const GRANTING = "ci_access:\n  groups:\n    - id: root-group/devs\n";
/** Answers instead of GitLab (a Response), or does something first and lets GitLab answer. */
type Fault = (url: URL) => Response | undefined;
const faults: Fault[] = [];
const faultyFetch: typeof fetch = async (input, init) => {
  const url = new URL(String(input));
  for (const fault of faults) {
    const answer = fault(url);
    if (answer) return answer;
  }
  return fetch(input, init);
};
const agentsOf = (projectId: number) => `/api/v4/projects/${projectId}/cluster_agents`;
const status = (code: number) => Response.json({ message: `${code}` }, { status: code });

let gitlab: GitLabSimulator;
let system: KasmapSystem;
let sync: GitLabSync;
let authzDb: Kysely<unknown>;
const metrics = new Registry();
const ids = {
  devs: 0,
  /** Agent `granting` with a config granting root-group/devs. */
  granting: { project: 0, agent: 0 },
  /** 101 agents: two pages of GitLab's 100. */
  paged: 0,
  victim: 0,
  doomed: 0,
};

const mirrored = async () => (await requestCommand(system.bus, "mirror.status", {})).result;
/** The grants authz holds for the agent (its own tables: the read model follows them later). */
const grantsOf = async (agentId: number) =>
  (
    await sql<{
      n: number;
    }>`select count(*)::int as n from authz.agent_grant_targets where agent_id = ${agentId}`.execute(authzDb)
  ).rows[0]?.n;
const unreadMetric = async () =>
  sampleValue(await metrics.metrics(), "kasmap_gitlab_sync_reconcile_unread_items");

beforeAll(async () => {
  gitlab = await startGitLabSimulator();
  const token = gitlab.addToken(gitlab.addUser({ username: "sync-admin", is_admin: true }).id);
  const root = gitlab.addGroup({ path: "root-group" });
  ids.devs = gitlab.addGroup({ path: "devs", parent_id: root.id }).id;
  const project = (path: string) => gitlab.addProject({ path, namespace_id: ids.devs }).id;
  ids.granting.project = project("granting");
  ids.granting.agent = gitlab.addAgent(ids.granting.project, "granting").id;
  gitlab.setFile(ids.granting.project, ".gitlab/agents/granting/config.yaml", GRANTING);
  ids.paged = project("paged");
  for (let i = 0; i < 101; i++) gitlab.addAgent(ids.paged, `paged-${i}`);
  ids.victim = project("victim");
  gitlab.addAgent(ids.victim, "victim");
  ids.doomed = project("doomed");
  for (let i = 0; i < 3; i++) project(`plain-${i}`);
  system = await startKasmapSystem({
    gitlab: { url: gitlab.url, token, rootGroups: ["root-group"], reconcileSeconds: 3600 },
  });
  authzDb = createDatabase({ url: system.databaseUrl, max: 2, applicationName: "partial-reads" });
  expect(await system.sync?.reconcileNow()).toMatchObject({ completed: true });
  sync = await startSyncBeside(system, { url: gitlab.url, token }, { fetch: faultyFetch, metrics });
  expect(await sync.reconcileNow()).toMatchObject({ completed: true, unread: [] });
  expect(await mirrored()).toMatchObject({ projects: 7, agents: 103 });
  expect(await grantsOf(ids.granting.agent)).toBe(1);
}, 120_000);

afterEach(() => {
  faults.length = 0;
});

afterAll(async () => {
  await sync?.stop();
  await authzDb?.destroy();
  await system?.stop();
  await gitlab?.close();
});

describe("a project's agent listing GitLab will not give", () => {
  it("403: its agents and their grants stay, the walk completes, sweeps the others and names the project", async () => {
    gitlab.deleteProject(ids.doomed, { fireHooks: false });
    faults.push((url) => (url.pathname === agentsOf(ids.granting.project) ? status(403) : undefined));
    const outcome = await sync.reconcileNow();
    expect(outcome).toMatchObject({
      completed: true,
      removed: { groups: 0, projects: 1, agents: 0 },
      unread: [expect.stringMatching(new RegExp(`^project ${ids.granting.project} .*agents: .*403`))],
    });
    expect(await mirrored()).toMatchObject({ projects: 6, agents: 103 });
    expect(await grantsOf(ids.granting.agent)).toBe(1);
    expect(await unreadMetric()).toBe(1);
    // Readable again: nothing left to report.
    faults.length = 0;
    expect(await sync.reconcileNow()).toMatchObject({ completed: true, unread: [] });
    expect(await unreadMetric()).toBe(0);
  });

  it("403 part-way through its pages: none of its agents is removed", async () => {
    faults.push((url) =>
      url.pathname === agentsOf(ids.paged) && url.searchParams.get("page") === "2" ? status(403) : undefined,
    );
    const outcome = await sync.reconcileNow();
    expect(outcome).toMatchObject({ completed: true, removed: { groups: 0, projects: 0, agents: 0 } });
    expect(outcome.completed && outcome.unread).toEqual([expect.stringMatching(`^project ${ids.paged} `)]);
    expect(await mirrored()).toMatchObject({ agents: 103 });
  });

  it("500 after the client's retries: its agents stay, the walk completes", async () => {
    faults.push((url) => (url.pathname === agentsOf(ids.granting.project) ? status(500) : undefined));
    const outcome = await sync.reconcileNow();
    expect(outcome).toMatchObject({ completed: true, removed: { groups: 0, projects: 0, agents: 0 } });
    expect(outcome.completed && outcome.unread).toEqual([expect.stringMatching(/500/)]);
    expect(await grantsOf(ids.granting.agent)).toBe(1);
  });

  it("404 while GitLab still has the project: its agents stay", async () => {
    faults.push((url) => (url.pathname === agentsOf(ids.paged) ? status(404) : undefined));
    const outcome = await sync.reconcileNow();
    expect(outcome).toMatchObject({ completed: true, removed: { groups: 0, projects: 0, agents: 0 } });
    expect(outcome.completed && outcome.unread).toEqual([expect.stringMatching(`^project ${ids.paged} `)]);
    expect(await mirrored()).toMatchObject({ projects: 6, agents: 103 });
  });

  it("404 because GitLab deleted the project after its page was read: the walk completes, the project is removed", async () => {
    let deleted = false;
    faults.push((url) => {
      if (!deleted && url.pathname === agentsOf(ids.victim)) {
        deleted = true;
        gitlab.deleteProject(ids.victim, { fireHooks: false });
      }
      return undefined;
    });
    const outcome = await sync.reconcileNow();
    expect(outcome).toMatchObject({ completed: true, gone: 1, unread: [] });
    expect(await mirrored()).toMatchObject({ projects: 5, agents: 102 });
  });
});

describe("an agent's config file GitLab will not give", () => {
  it.each([403, 500])("%i: the agent keeps its grants, the walk completes and names it", async (code) => {
    const file = `/api/v4/projects/${ids.granting.project}/repository/files/`;
    faults.push((url) => (url.pathname.startsWith(file) ? status(code) : undefined));
    const outcome = await sync.reconcileNow();
    expect(outcome).toMatchObject({ completed: true, removed: { groups: 0, projects: 0, agents: 0 } });
    expect(outcome.completed && outcome.unread).toEqual([
      expect.stringMatching(new RegExp(`^agent ${ids.granting.agent} .*config: .*${code}`)),
    ]);
    expect(await grantsOf(ids.granting.agent)).toBe(1);
  });
});
