/**
 * How long does GitLab mode's full sync take, and how much memory does the sync service hold,
 * next to the time GitLab (the simulator) takes just to serve the same pages? Issue 9's goal:
 * 100,000 projects / 10,000 groups / 5,000 agents in under 10 minutes and under 500 MiB RSS.
 *
 * Method: the GitLab simulator loaded with 1,000 top-level groups × 9 subgroups (10,000 groups),
 * 10 projects in each (100,000 projects), one agent in each of the first 5,000 projects with a
 * config file; Kasmap's authz, projection and gateway in this process on a fresh database and
 * topology (`startKasmapSystem`); the sync service as its own process (`services/gitlab-sync/src/
 * main.ts`, as it runs in production), so its peak RSS (`VmHWM`) is its own. Timed: the sync's
 * first full reconcile, from `last_reconcile_started_at` to `last_reconcile_completed_at` of its
 * `<root>.cmd.sync.status` (every group, project, agent and config put through authz, then the
 * sweep). Baseline: the same GitLab requests the sync made (the simulator's request log), replayed
 * with plain `fetch` at the sync's project concurrency, bodies read and discarded — what serving
 * those pages costs GitLab alone. `KASMAP_BENCH_GITLAB_SCALE` (default 1) scales the counts.
 *
 * Run: npx tsx bench/gitlab-full-sync.bench.ts
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { SyncStatusSchema } from "@kasmap/contracts";
import { type SimulatorState, startGitLabSimulator } from "@kasmap/testing/gitlab-simulator";
import { startKasmapSystem } from "@kasmap/testing/system";

process.env.NATS_URL ??= "nats://127.0.0.1:4222";
process.env.DATABASE_URL ??= "postgres://postgres@127.0.0.1:5432/postgres";

const GOAL_SECONDS = 600;
const GOAL_RSS_MIB = 500;
/** The sync reads at most this many projects' agents at once (`PROJECT_CONCURRENCY`). */
const REPLAY_CONCURRENCY = 4;
const root = fileURLToPath(new URL("..", import.meta.url));

export async function runGitLabFullSyncBench(): Promise<void> {
  const scale = Number(process.env.KASMAP_BENCH_GITLAB_SCALE ?? "1");
  const topGroups = Math.max(1, Math.round(1_000 * scale));
  const agents = Math.max(1, Math.round(5_000 * scale));
  const gitlab = await startGitLabSimulator();
  const admin = gitlab.addUser({ username: "bench-admin", is_admin: true });
  const token = gitlab.addToken(admin.id);
  const loaded = gitlab.loadBulk({
    groups: topGroups,
    subgroupsPerGroup: 9,
    projectsPerGroup: 10,
    agents,
    // Each agent shares its project's top-level group: the config names it by path.
    agentConfig: (_agent, project) =>
      `ci_access:\n  groups:\n    - id: ${topGroupPath(gitlab.state, project.namespace_id)}\n`,
  });
  console.log(
    `GitLab simulator: ${loaded.groupIds.length} groups, ${loaded.projectIds.length} projects, ${loaded.agentIds.length} agents; ${cpus().length} CPUs`,
  );
  const system = await startKasmapSystem();
  const child = spawn(process.execPath, ["--import", "tsx", `${root}services/gitlab-sync/src/main.ts`], {
    cwd: root,
    env: {
      ...process.env,
      LOG_LEVEL: "warn",
      KASMAP_TOPOLOGY_ROOT: system.topology.root,
      KASMAP_GITLAB_URL: gitlab.url,
      KASMAP_GITLAB_TOKEN: token,
      KASMAP_GITLAB_RECONCILE_SECONDS: "86400",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  try {
    const firstRequest = gitlab.requestLog.length;
    const status = await completedReconcile(system.bus, system.topology.subjects.syncCommand("status"));
    const peakRssMib = peakRss(child.pid);
    const syncSeconds =
      (Date.parse(status.last_reconcile_completed_at ?? "") -
        Date.parse(status.last_reconcile_started_at ?? "")) /
      1000;
    const requests = gitlab.requestLog.slice(firstRequest).map((request) => request.path);
    const baselineSeconds = await replay(gitlab.url, token, requests);
    const ratio = syncSeconds / baselineSeconds;
    console.log(
      `full sync: ${syncSeconds.toFixed(1)} s for ${requests.length} GitLab requests (mirrored: ${JSON.stringify(status.mirrored)}); ` +
        `the simulator serving the same requests: ${baselineSeconds.toFixed(1)} s; sync peak RSS ${peakRssMib.toFixed(0)} MiB`,
    );
    const goalSeconds = GOAL_SECONDS * scale;
    console.log(
      `${syncSeconds <= goalSeconds ? "PASS" : "MISS"} gitlab-full-sync ${ratio.toFixed(1)}× the simulator's serving time ` +
        `(goal: under ${goalSeconds.toFixed(0)} s${scale === 1 ? " = 10 min" : ` at scale ${scale}`}; took ${syncSeconds.toFixed(1)} s)`,
    );
    console.log(
      `${peakRssMib <= GOAL_RSS_MIB ? "PASS" : "MISS"} gitlab-full-sync-rss ${peakRssMib.toFixed(0)} MiB (goal: under ${GOAL_RSS_MIB} MiB)`,
    );
  } finally {
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
    await system.stop();
    await gitlab.close();
  }
}

function topGroupPath(state: SimulatorState, groupId: number): string {
  let group = state.groups.get(groupId);
  while (group?.parent_id) group = state.groups.get(group.parent_id);
  return group?.path ?? "unknown";
}

/** Asks the sync service for its status until its first reconcile has completed. */
async function completedReconcile(
  bus: Awaited<ReturnType<typeof startKasmapSystem>>["bus"],
  subject: string,
) {
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const reply = await bus.nc.request(subject, "{}", { timeout: 5_000 }).catch(() => null);
    if (reply === null) continue;
    const status = SyncStatusSchema.parse(reply.json());
    if (status.last_reconcile_completed_at !== null) return status;
    if (status.last_error !== null && status.last_reconcile_started_at !== null) {
      console.log(`sync reports: ${status.last_error}`);
    }
  }
}

/** Peak resident set of a process (Linux `VmHWM`), MiB. */
function peakRss(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? "0");
  return kib / 1024;
}

/** Seconds to GET every path again at `REPLAY_CONCURRENCY`, bodies read and discarded. */
async function replay(baseUrl: string, token: string, paths: readonly string[]): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: REPLAY_CONCURRENCY }, async () => {
      while (next < paths.length) {
        const path = paths[next++] ?? "";
        const response = await fetch(`${baseUrl}${path}`, { headers: { "PRIVATE-TOKEN": token } });
        await response.arrayBuffer();
      }
    }),
  );
  return (performance.now() - started) / 1000;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runGitLabFullSyncBench();
}
