import { connectBus, requestCommand } from "@kasmap/bus";
import { createGitLabClient } from "@kasmap/gitlab-api";
import { createLogger } from "@kasmap/logging";
import { type GitLabSimulator, startGitLabSimulator } from "@kasmap/testing/gitlab-simulator";
import { createTestTopology, testNatsUrl } from "@kasmap/testing/harness";
import { type KasmapSystem, startKasmapSystem } from "@kasmap/testing/system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GitLabMirror } from "../gitlab-mirror.ts";
import { type MirrorCommands, mirrorCommands } from "../mirror-commands.ts";
import { SyncHealth } from "../sync-status.ts";
import { startSyncBeside } from "../testing/sync-beside.ts";
import { startReconcileLoop } from "./reconcile-loop.ts";

/**
 * The sweep's cut-off and the `mirrored_at` stamps it is compared with come from one clock,
 * authz's database (`mirror.walk.begin`): a sync host whose clock runs 5 s ahead of authz's
 * removes nothing its own walk put, and one 5 s behind still sweeps at once what GitLab deleted
 * without a hook. Against an authz from before `mirror.walk.begin` (an upgrade under way) a walk
 * puts everything and sweeps nothing. The whole system beside the GitLab simulator; the skewed
 * clock is the sync's `now` option, the OS clock is left alone.
 */
const SKEW_MS = 5_000;
let gitlab: GitLabSimulator;
let token: string;
let system: KasmapSystem;
const ids = { root: 0, devs: 0, projects: [] as number[] };

const mirrored = async () => (await requestCommand(system.bus, "mirror.status", {})).result;

beforeAll(async () => {
  gitlab = await startGitLabSimulator();
  token = gitlab.addToken(gitlab.addUser({ username: "sync-admin", is_admin: true }).id);
  ids.root = gitlab.addGroup({ path: "root-group" }).id;
  ids.devs = gitlab.addGroup({ path: "devs", parent_id: ids.root }).id;
  for (let i = 0; i < 8; i++) {
    const project = gitlab.addProject({ path: `p-${i}`, namespace_id: i % 2 ? ids.devs : ids.root });
    ids.projects.push(project.id);
    if (i % 4 === 0) {
      gitlab.addAgent(project.id, `agent-${i}`);
      gitlab.setFile(
        project.id,
        `.gitlab/agents/agent-${i}/config.yaml`,
        "ci_access:\n  groups:\n    - id: root-group/devs\n",
      );
    }
  }
  system = await startKasmapSystem({
    gitlab: { url: gitlab.url, token, rootGroups: ["root-group"], reconcileSeconds: 3600 },
  });
  // The system's own sync (the host's clock) mirrors everything first, then stays idle.
  expect(await system.sync?.reconcileNow()).toMatchObject({ completed: true });
  expect(await mirrored()).toMatchObject({ groups: 2, projects: 8, agents: 2 });
}, 120_000);

afterAll(async () => {
  await system?.stop();
  await gitlab?.close();
});

describe("the sweep's clock", () => {
  it("a sync host 5 s ahead of authz: complete reconciles remove nothing they put", async () => {
    const before = await mirrored();
    const sync = await startSyncBeside(
      system,
      { url: gitlab.url, token },
      {
        now: () => new Date(Date.now() + SKEW_MS),
      },
    );
    try {
      // Its reconcile at start, then this one.
      const outcome = await sync.reconcileNow();
      expect(outcome).toMatchObject({ completed: true, removed: { groups: 0, projects: 0, agents: 0 } });
      expect(await mirrored()).toEqual({ ...before, last_mirrored_at: expect.any(String) });
    } finally {
      await sync.stop();
    }
  });

  it("a sync host 5 s behind authz: a project GitLab deleted without a hook is swept by the next reconcile", async () => {
    const sync = await startSyncBeside(
      system,
      { url: gitlab.url, token },
      {
        now: () => new Date(Date.now() - SKEW_MS),
      },
    );
    try {
      expect(await sync.reconcileNow()).toMatchObject({ completed: true });
      const doomed = ids.projects.pop() as number;
      gitlab.deleteProject(doomed, { fireHooks: false });
      const outcome = await sync.reconcileNow();
      expect(outcome).toMatchObject({ completed: true, removed: { groups: 0, projects: 1, agents: 0 } });
      expect(await mirrored()).toMatchObject({ projects: 7 });
    } finally {
      await sync.stop();
    }
  });
});

describe("an authz from before mirror.walk.begin (an upgrade under way)", () => {
  it("answers it `unknown command`: the sync takes that as no walk start, and no responder as authz down", async () => {
    const topology = createTestTopology();
    const bus = await connectBus({ url: testNatsUrl(), name: "older-authz", topology });
    try {
      await expect(mirrorCommands(bus).beginWalk()).rejects.toMatchObject({ code: "unavailable" });
      // What the older authz's command server answers a command it does not know.
      const older = bus.nc.subscribe(topology.subjects.authzCommand("mirror.walk.begin"), {
        callback: (_error, message) => {
          const error = { code: "bad_request", message: "unknown command mirror.walk.begin" };
          message.respond(JSON.stringify({ ok: false, error }));
        },
      });
      expect(await mirrorCommands(bus).beginWalk()).toBeNull();
      older.unsubscribe();
    } finally {
      await bus.close();
    }
  });

  it("the walk puts everything, keeps and sweeps nothing, and says so", async () => {
    const doomed = ids.projects.pop() as number;
    gitlab.deleteProject(doomed, { fireHooks: false });
    gitlab.addProject({ path: "added", namespace_id: ids.devs }, { fireHooks: false });
    const unexpected: string[] = [];
    const real = mirrorCommands(system.bus);
    const olderAuthz: MirrorCommands = {
      ...real,
      beginWalk: async () => null,
      keepAgentsOf: async () => {
        unexpected.push("mirror.agents.keep");
        return 0;
      },
      sweep: async () => {
        unexpected.push("mirror.sweep");
        return { groups: 0, projects: 0, agents: 0 };
      },
    };
    // A project whose agents GitLab will not list: an older authz would refuse the keep.
    const forbidden = ids.projects[0] as number;
    const fetchWithA403: typeof fetch = async (input, init) =>
      new URL(String(input)).pathname.endsWith(`/projects/${forbidden}/cluster_agents`)
        ? Response.json({ message: "403 Forbidden" }, { status: 403 })
        : fetch(input, init);
    const client = createGitLabClient({ baseUrl: gitlab.url, token, timeoutMs: 5_000, fetch: fetchWithA403 });
    const health = new SyncHealth(3600);
    const loop = startReconcileLoop({
      gitlab: new GitLabMirror(client, olderAuthz),
      rootGroups: ["root-group"],
      health,
      periodMs: 3_600_000,
      logger: createLogger("gitlab-sync", "silent"),
      now: () => new Date(),
    });
    try {
      const outcome = await loop.reconcileNow();
      expect(outcome).toMatchObject({ completed: true, removed: null });
      expect(unexpected).toEqual([]);
      expect(health.lastError).toMatch(/nothing swept: authz does not know mirror\.walk\.begin/);
      // 7 before; the new project put, the deleted one not swept.
      expect(await mirrored()).toMatchObject({ projects: 8 });
    } finally {
      await loop.stop();
    }
  });
});
