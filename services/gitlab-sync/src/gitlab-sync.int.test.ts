import { DEAD_LETTER_HEADERS, SyncStatusSchema } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import {
  addAgentProjectHierarchy,
  type GitLabSimulator,
  startGitLabSimulator,
} from "@kasmap/testing/gitlab-simulator";
import { eventually } from "@kasmap/testing/harness";
import { type KasmapSystem, startKasmapSystem } from "@kasmap/testing/system";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MirroredSystem, startMirroredSystem } from "./testing/mirrored-system.ts";

/**
 * Issue 9 item 1 (the mirror) and the sync half of item 2 (changes arrive, drift is repaired),
 * against the GitLab simulator and the real NATS JetStream and PostgreSQL: GitLab's hierarchy
 * reaches the read model with GitLab's ids and paths, page by page and through rate limits;
 * a hook changes the mirror; a lost hook is repaired by the reconcile; GitLab down keeps the
 * last mirror and says so; malformed inbox messages are dead-lettered with their reason.
 */
const HOOK_SECRET = "sync-test-hook-secret";
let gitlab: GitLabSimulator;
let mirrored: MirroredSystem;
let system: KasmapSystem;
let readModel: Kysely<ReadModelDatabase>;
const ids = {} as Record<
  "root" | "operators" | "developers" | "agentProject" | "featureProject" | "agent",
  number
>;

const AGENT_CONFIG = "ci_access:\n  groups:\n    - id: root-group/developers\n";

beforeAll(async () => {
  gitlab = await startGitLabSimulator();
  const { root, operators, developers, agentProject, featureProject } = addAgentProjectHierarchy(gitlab);
  const agent = gitlab.addAgent(agentProject.id, "agent");
  gitlab.setFile(agentProject.id, ".gitlab/agents/agent/config.yaml", AGENT_CONFIG);
  Object.assign(ids, {
    root: root.id,
    operators: operators.id,
    developers: developers.id,
    agentProject: agentProject.id,
    featureProject: featureProject.id,
    agent: agent.id,
  });
  mirrored = await startMirroredSystem(gitlab, { hookSecret: HOOK_SECRET, applicationName: "sync-test" });
  ({ system, readModel } = mirrored);
}, 120_000);

afterAll(async () => {
  await mirrored?.stop();
  await gitlab?.close();
});

const sync = () => mirrored.sync();

async function projectRow(id: number) {
  return readModel.selectFrom("read_model.projects").selectAll().where("id", "=", id).executeTakeFirst();
}

async function syncStatus() {
  const reply = await system.bus.nc.request(system.topology.subjects.syncCommand("status"), "{}", {
    timeout: 5_000,
  });
  return SyncStatusSchema.parse(reply.json());
}

describe("full reconcile", () => {
  it("mirrors the MR's hierarchy with GitLab's ids and paths, and the agent's ci_access", async () => {
    const outcome = await sync().reconcileNow();
    expect(outcome).toMatchObject({ completed: true });
    const groups = await eventually(async () => {
      const rows = await readModel
        .selectFrom("read_model.groups")
        .select(["id", "full_path", "parent_id"])
        .where("full_path", "like", "root-group%")
        .orderBy("id")
        .execute();
      return rows.length === 3 ? rows : undefined;
    }, "the mirrored groups");
    expect(groups).toEqual([
      { id: ids.root, full_path: "root-group", parent_id: null },
      { id: ids.operators, full_path: "root-group/operators", parent_id: ids.root },
      { id: ids.developers, full_path: "root-group/developers", parent_id: ids.root },
    ]);
    const agentProject = await eventually(() => projectRow(ids.agentProject), "Agent-Project");
    expect(agentProject.path_with_namespace).toBe("root-group/operators/agent-project");
    expect(
      (await eventually(() => projectRow(ids.featureProject), "Feature-Project")).path_with_namespace,
    ).toBe("root-group/developers/feature-project");
    const agent = await eventually(
      () =>
        readModel.selectFrom("read_model.agents").selectAll().where("id", "=", ids.agent).executeTakeFirst(),
      "the agent",
    );
    expect(agent).toMatchObject({ name: "agent", project_id: ids.agentProject });
    await eventually(
      () =>
        readModel
          .selectFrom("read_model.ci_access_group_authorizations")
          .selectAll()
          .where("agent_id", "=", ids.agent)
          .where("group_id", "=", ids.developers)
          .executeTakeFirst(),
      "ci_access to root-group/developers",
    );
    const status = await syncStatus();
    expect(status.gitlab_reachable).toBe(true);
    expect(status.last_reconcile_completed_at).not.toBeNull();
    expect(status.mirrored).toMatchObject({ groups: 3, projects: 2, agents: 1 });
  });

  it("follows GitLab's pagination across many pages, with headers or with Link only", async () => {
    const bulkRoot = gitlab.addGroup({ path: "root-group-bulk", name: "Bulk" }, { fireHooks: false });
    // 5 subgroups × 50 projects: 250 projects, three pages of 100 per listing.
    for (let i = 0; i < 5; i++) {
      const sub = gitlab.addGroup({ path: `sub-${i}`, parent_id: bulkRoot.id }, { fireHooks: false });
      for (let p = 0; p < 50; p++) {
        const project = gitlab.addProject(
          { path: `p-${i}-${p}`, namespace_id: sub.id },
          { fireHooks: false },
        );
        if (p === 0) gitlab.addAgent(project.id, `bulk-${i}`, { fireHooks: false });
      }
    }
    const system2 = await startKasmapSystem({
      gitlab: {
        url: gitlab.url,
        token: gitlab.addToken(gitlab.addUser({ username: "bulk-admin", is_admin: true }).id),
        rootGroups: ["root-group-bulk"],
        reconcileSeconds: 3600,
      },
    });
    try {
      const running = system2.sync;
      if (!running) throw new Error("no sync");
      const before = gitlab.requestLog.length;
      expect(await running.reconcileNow()).toMatchObject({ completed: true, groups: 6, projects: 250 });
      const pages = gitlab.requestLog.slice(before).filter((r) => /\/projects\?.*page=3/.test(r.path));
      expect(pages.length).toBeGreaterThan(0);

      gitlab.setPaginationStyle("link_only");
      gitlab.addProject({ path: "late", namespace_id: bulkRoot.id }, { fireHooks: false });
      expect(await running.reconcileNow()).toMatchObject({ completed: true, projects: 251 });
      const reply = await system2.bus.nc.request(system2.topology.subjects.syncCommand("status"), "{}");
      expect(SyncStatusSchema.parse(reply.json()).mirrored).toEqual({ groups: 6, projects: 251, agents: 5 });
    } finally {
      gitlab.setPaginationStyle("headers");
      await system2.stop();
    }
  }, 180_000);

  it("waits out GitLab's 429 with Retry-After and completes", async () => {
    const before = gitlab.requestLog.length;
    gitlab.rateLimitNext(2, 1);
    expect(await sync().reconcileNow()).toMatchObject({ completed: true });
    const statuses = gitlab.requestLog.slice(before).map((r) => r.status);
    expect(statuses.slice(0, 2)).toEqual([429, 429]);
    expect(statuses[2]).toBe(200);
  });
});

describe("hooks and drift", () => {
  it("applies a system hook: a renamed project gets its new path without a reconcile", async () => {
    const project = gitlab.addProject({ path: "hooked", namespace_id: ids.developers });
    await eventually(() => projectRow(project.id), "the project from project_create");
    gitlab.renameProject(project.id, { path: "hooked-renamed", name: "Hooked" });
    await eventually(async () => {
      const row = await projectRow(project.id);
      return row?.path_with_namespace === "root-group/developers/hooked-renamed" ? row : undefined;
    }, "the rename from project_rename");
  });

  it("repairs a lost hook at the next reconcile", async () => {
    const doomed = gitlab.addProject({ path: "doomed", namespace_id: ids.developers });
    await eventually(() => projectRow(doomed.id), "the project from project_create");
    gitlab.deleteProject(doomed.id, { fireHooks: false });
    expect(await projectRow(doomed.id)).toBeDefined();
    // The first reconcile after it sweeps it: no clock margin spares a recent stamp.
    expect(await sync().reconcileNow()).toMatchObject({ completed: true, removed: { projects: 1 } });
    await eventually(
      async () => ((await projectRow(doomed.id)) === undefined ? true : undefined),
      "the deleted project swept",
    );
  });

  it("keeps the last mirror when GitLab is down, reports it stale, and sweeps nothing", async () => {
    await gitlab.setDown(true);
    try {
      const outcome = await sync().reconcileNow();
      expect(outcome.completed).toBe(false);
      const status = await syncStatus();
      expect(status.gitlab_reachable).toBe(false);
      expect(status.last_error).toMatch(/unreachable/i);
      expect(await projectRow(ids.featureProject)).toBeDefined();
      expect(await projectRow(ids.agentProject)).toBeDefined();
      const readiness = await eventually(async () => {
        const body = (await (await fetch(`${system.gatewayUrl}/-/readiness`)).json()) as {
          mirror_check?: Array<{ status: string }>;
        };
        return body.mirror_check?.[0]?.status === "stale" ? body : undefined;
      }, "readiness reporting the mirror stale");
      expect(readiness.mirror_check?.[0]).toMatchObject({ status: "stale", gitlab_reachable: false });
      // A hook that arrives meanwhile cannot be applied (the sync re-reads GitLab): it waits.
      gitlab.renameProject(ids.featureProject, { path: "feature-renamed" });
      await gitlab.flushHooks();
      expect((await projectRow(ids.featureProject))?.path).toBe("feature-project");
    } finally {
      await gitlab.setDown(false);
    }
    // Back up: the waiting hook is applied by the inbox consumer's retry, before any reconcile.
    await eventually(async () => {
      const row = await projectRow(ids.featureProject);
      return row?.path === "feature-renamed" ? row : undefined;
    }, "the hook received while GitLab was down, applied once it is back");
    expect(await sync().reconcileNow()).toMatchObject({ completed: true });
    expect((await syncStatus()).gitlab_reachable).toBe(true);
  }, 60_000);
});

describe("the inbox", () => {
  it("dead-letters malformed messages with their reason and goes on", async () => {
    const subject = system.topology.subjects.gitlabInbox("hook");
    const envelope = (payload: unknown) =>
      JSON.stringify({
        received_at: new Date().toISOString(),
        source: "hook",
        gitlab_event: "System Hook",
        payload,
      });
    await system.bus.js.publish(subject, "not json at all");
    await system.bus.js.publish(subject, JSON.stringify({ source: "somewhere" }));
    await system.bus.js.publish(subject, envelope({ event_name: "project_create" }));
    const reasons = await eventually(async () => {
      const found: string[] = [];
      const info = await system.bus.jsm.streams.info(system.topology.streamNames.deadLetter);
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
        const letter = await system.bus.jsm.streams.getMessage(system.topology.streamNames.deadLetter, {
          seq,
        });
        if (letter?.header?.get(DEAD_LETTER_HEADERS.stream) === system.topology.streamNames.gitlabInbox) {
          found.push(letter.header.get(DEAD_LETTER_HEADERS.reason));
        }
      }
      return found.length >= 3 ? found : undefined;
    }, "three dead letters");
    expect(reasons[0]).toMatch(/not JSON/);
    expect(reasons[1]).toMatch(/inbox message/);
    expect(reasons[2]).toMatch(/project_create/);
    // The consumer went on: a later hook is still applied.
    const after = gitlab.addProject({ path: "after-poison", namespace_id: ids.developers });
    await eventually(() => projectRow(after.id), "a hook after the dead letters");
  });
});
