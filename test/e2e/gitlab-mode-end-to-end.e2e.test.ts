import type { ChildProcess } from "node:child_process";
import { SyncStatusSchema } from "@kasmap/contracts";
import type { KubeSimulator } from "@kasmap/kube-simulator";
import {
  addAgentProjectHierarchy,
  type GitLabSimulator,
  startGitLabSimulator,
} from "@kasmap/testing/gitlab-simulator";
import { eventually } from "@kasmap/testing/harness";
import { type KasmapSystem, startKasmapSystem } from "@kasmap/testing/system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnCollectorProgram, startDemoKubeCluster, stopCollectorsThenClose } from "./collector-program.ts";

/**
 * Issue 9's story from end to end, with nothing seeded into Kasmap: GitLab (the simulator) holds
 * the MR's hierarchy — Root-Group/Operators/Agent-Project with the agent `prod`, whose config
 * grants `ci_access` to root-group/developers, and Root-Group/Developers/Feature-Project. Kasmap
 * runs in GitLab mode; its mirror fills only through the sync service (initial reconcile, system
 * hook, audit stream). A Maintainer mints a collector token through Kasmap, a real collector
 * program reports a simulated cluster with it, and GitLab's own agent routes come back through
 * Kasmap as GitLab answers them, plus `cluster_info`.
 */
const HOOK_SECRET = "e2e-end-to-end-hook-secret";
const STREAMING_TOKEN = "e2e-end-to-end-streaming-token";
const MAINTAINER = 40;
const DEVELOPER = 30;

let gitlab: GitLabSimulator;
let kube: KubeSimulator;
let kubeconfig: string;
let system: KasmapSystem;
const collectors: ChildProcess[] = [];
const ids = { agentProject: 0, featureProject: 0, agent: 0, developer: 0 };
const tokens = { maintainer: "", outsider: "", unused: "" };
let agentPath: string;

beforeAll(async () => {
  ({ simulator: kube, kubeconfig } = await startDemoKubeCluster());

  gitlab = await startGitLabSimulator();
  const admin = gitlab.addUser({ username: "root", is_admin: true });
  const { developers, agentProject, featureProject } = addAgentProjectHierarchy(gitlab);
  ids.agentProject = agentProject.id;
  ids.featureProject = featureProject.id;
  const maintainer = gitlab.addUser({ username: "olivia-operator" });
  const developer = gitlab.addUser({ username: "dave-developer" });
  const outsider = gitlab.addUser({ username: "nora-nobody" });
  gitlab.addMember({ project_id: ids.agentProject }, maintainer.id, MAINTAINER);
  gitlab.addMember({ group_id: developers.id }, developer.id, DEVELOPER);
  ids.developer = developer.id;
  tokens.maintainer = gitlab.addToken(maintainer.id);
  tokens.outsider = gitlab.addToken(outsider.id);
  // A token of the Maintainer that Kasmap never sees until GitLab is down.
  tokens.unused = gitlab.addToken(maintainer.id);

  system = await startKasmapSystem({
    gitlab: {
      url: gitlab.url,
      token: gitlab.addToken(admin.id),
      hookSecret: HOOK_SECRET,
      streamingToken: STREAMING_TOKEN,
      reconcileSeconds: 3600,
      // Long, so the Maintainer's token is still cached when GitLab goes down at the end.
      permissionTtlSeconds: 600,
    },
  });
  gitlab.addSystemHook(`${system.gatewayUrl}/api/v4/-/gitlab/hooks`, HOOK_SECRET);
  gitlab.addAuditStreamingDestination(`${system.gatewayUrl}/api/v4/-/gitlab/audit-events`, STREAMING_TOKEN);

  // The first reconcile (at start) mirrors the groups and projects. The agent and its config come
  // after it, so only the audit stream (cluster_agent_created) and the push hook can bring them:
  // the next reconcile is an hour away.
  await eventually(async () => {
    const reply = await system.bus.nc.request(system.topology.subjects.syncCommand("status"), "{}");
    const status = SyncStatusSchema.parse(reply.json());
    return status.last_reconcile_completed_at !== null && status.mirrored?.projects === 2 ? true : undefined;
  }, "the first reconcile with GitLab");
  ids.agent = gitlab.addAgent(ids.agentProject, "prod", { created_by_user_id: maintainer.id }).id;
  gitlab.setFile(
    ids.agentProject,
    ".gitlab/agents/prod/config.yaml",
    "ci_access:\n  groups:\n    - id: root-group/developers\n",
  );
  agentPath = `/projects/${ids.agentProject}/cluster_agents/${ids.agent}`;
  await eventually(
    async () => {
      const response = await system.call("GET", `/api/v4${agentPath}/cluster_info`, tokens.maintainer);
      return response.status === 200 && (await response.json()) === null ? true : undefined;
    },
    "the agent mirrored from GitLab (cluster_info 200 null)",
    60_000,
  );
  // Kasmap took GitLab's notices with the configured secrets (a wrong one would be a 401).
  await gitlab.flushHooks();
  const notices = gitlab.hookDeliveries.map((delivery) => [
    delivery.destination,
    delivery.event,
    delivery.status,
  ]);
  expect(notices).toContainEqual(["audit_stream", "cluster_agent_created", 200]);
  expect(notices).toContainEqual(["system_hook", "push", 200]);
}, 120_000);

afterAll(() => stopCollectorsThenClose(collectors, system, gitlab, kube));

/** The collector program with `token`, as an operator runs it; stopped after the file. */
function startCollectorProgram(token: string): void {
  const program = spawnCollectorProgram({
    token,
    kubeconfig,
    topologyRoot: system.topology.root,
    pod: { ip: "10.244.1.23", namespace: "gitlab-agent" },
  });
  collectors.push(program.child);
}

/** The kube simulator's node InternalIPs, read from its own API. */
async function kubeNodeInternalIps(): Promise<string[]> {
  const list = (await (await fetch(`${kube.url}/api/v1/nodes`)).json()) as {
    items: Array<{ status?: { addresses?: Array<{ type: string; address: string }> } }>;
  };
  return list.items
    .flatMap((node) => node.status?.addresses ?? [])
    .filter((address) => address.type === "InternalIP")
    .map((address) => address.address)
    .sort();
}

function viaKasmap(path: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${system.gatewayUrl}/api/v4${path}`, { headers });
}

function direct(path: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${gitlab.apiUrl}${path}`, { headers });
}

type ClusterInfo = { node_ips: { internal: string[]; external: string[] } };

describe("GitLab mode from end to end (nothing seeded)", () => {
  it("a Maintainer mints a collector token through Kasmap; a collector with it makes GitLab's agent body carry cluster_info", async () => {
    const minted = await system.api(
      "POST",
      `${agentPath}/collector_tokens`,
      { name: "prod-collector" },
      tokens.maintainer,
    );
    expect(minted.status).toBe(201);
    const token = String(minted.body?.token);
    expect(token).toMatch(/^kmcol-/);
    startCollectorProgram(token);

    const headers = { "private-token": tokens.maintainer };
    const body = await eventually(
      async () => {
        const response = await viaKasmap(`${agentPath}?with_cluster_info=true`, headers);
        if (response.status !== 200) return undefined;
        const answer = (await response.json()) as Record<string, unknown>;
        return answer.cluster_info ? answer : undefined;
      },
      "cluster_info from the collector holding a collector token",
      // A loaded machine takes long to start the collector program (transpiled at start).
      90_000,
    );
    const gitlabBody = await (await direct(agentPath, headers)).json();
    const { cluster_info: clusterInfo, ...rest } = body;
    expect(rest).toEqual(gitlabBody);
    const nodeIps = await kubeNodeInternalIps();
    expect(nodeIps.length).toBeGreaterThan(0);
    expect([...(clusterInfo as ClusterInfo).node_ips.internal].sort()).toEqual(nodeIps);
  }, 120_000);

  it("a user GitLab gives no access gets GitLab's 404 for the same route", async () => {
    const path = `${agentPath}?with_cluster_info=true`;
    const denied = await viaKasmap(path, { "private-token": tokens.outsider });
    expect(denied.status).toBe(404);
    expect(await denied.json()).toEqual(
      await (await direct(path, { "private-token": tokens.outsider })).json(),
    );
  });

  it("a CI job of Feature-Project lists the agent (ci_access via root-group/developers) with cluster_info", async () => {
    const job = gitlab.addJob({ project_id: ids.featureProject, user_id: ids.developer });
    const headers = { "job-token": job.token };
    const gitlabBody = (await (await direct("/job/allowed_agents", headers)).json()) as {
      allowed_agents: Array<Record<string, unknown>>;
    };
    expect(gitlabBody.allowed_agents.map((agent) => agent.id)).toEqual([ids.agent]);
    const response = await viaKasmap("/job/allowed_agents?with_cluster_info=true", headers);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { allowed_agents: Array<Record<string, unknown>> };
    expect(body.allowed_agents.map(({ cluster_info: _info, ...agent }) => agent)).toEqual(
      gitlabBody.allowed_agents,
    );
    expect({ ...body, allowed_agents: [] }).toEqual({ ...gitlabBody, allowed_agents: [] });
    const clusterInfo = body.allowed_agents[0]?.cluster_info as ClusterInfo | undefined;
    expect([...(clusterInfo?.node_ips.internal ?? [])].sort()).toEqual(await kubeNodeInternalIps());
  });

  it("GitLab down: the cached Maintainer still reads cluster_info from the last mirror, readiness says stale, an uncached token gets 503", async () => {
    const headers = { "private-token": tokens.maintainer };
    const before = await viaKasmap(`${agentPath}/cluster_info`, headers);
    expect(before.status).toBe(200);
    const lastMirrored = await before.json();
    expect(lastMirrored).not.toBeNull();
    await gitlab.setDown(true);
    try {
      // The sync service learns GitLab is gone at its next read of GitLab.
      expect(await system.sync?.reconcileNow()).toMatchObject({ completed: false });
      const readiness = await eventually(async () => {
        const answer = (await (await fetch(`${system.gatewayUrl}/-/readiness`)).json()) as {
          status: string;
          mirror_check?: Array<{ status: string; gitlab_reachable?: boolean }>;
        };
        return answer.mirror_check?.[0]?.status === "stale" ? answer : undefined;
      }, "readiness reporting the mirror stale");
      expect(readiness.mirror_check?.[0]).toMatchObject({ status: "stale", gitlab_reachable: false });
      // Reported, not gating: the last mirror is still served.
      expect(readiness.status).toBe("ok");

      const cached = await viaKasmap(`${agentPath}/cluster_info`, headers);
      expect(cached.status).toBe(200);
      expect(await cached.json()).toEqual(lastMirrored);

      const uncached = await viaKasmap(`${agentPath}/cluster_info`, { "private-token": tokens.unused });
      expect(uncached.status).toBe(503);
      expect(await uncached.json()).toEqual({ message: expect.stringContaining("GitLab is unreachable") });
    } finally {
      await gitlab.setDown(false);
    }
  }, 60_000);
});
