import type { ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEMO_CLUSTER_DIRECTORY, KubeSimulator } from "@kasmap/kube-simulator";
import { eventually } from "@kasmap/testing/harness";
import { type KasmapSystem, startKasmapSystem } from "@kasmap/testing/system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnCollectorProgram } from "./collector-program.ts";

/**
 * Issue 11, cluster identity: an agent's token taken to another cluster. A real collector
 * program reports from one simulated cluster, then a new collector process with the same token
 * reports from a second one (another kube-system UID): the audit log records the move and
 * `verify` refuses the old UID, so a CI job can refuse to deploy.
 */
const FIRST_UID = "3f1e5c2a-1111-4a6b-9c7d-000000000001";
const SECOND_UID = "8b2d6e4f-2222-4c8d-8e9f-000000000002";
let system: KasmapSystem;
const simulators: KubeSimulator[] = [];
let collector: ChildProcess | null = null;

async function clusterWithUid(uid: string): Promise<KubeSimulator> {
  const simulator = new KubeSimulator();
  await simulator.loadFromDirectory(DEMO_CLUSTER_DIRECTORY);
  simulator.delete("v1", "Namespace", undefined, "kube-system");
  simulator.upsert({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "kube-system", uid, labels: { "kubernetes.io/metadata.name": "kube-system" } },
  });
  await simulator.start();
  simulators.push(simulator);
  return simulator;
}

async function startCollectorAgainst(simulator: KubeSimulator, token: string): Promise<ChildProcess> {
  const kubeconfig = join(mkdtempSync(join(tmpdir(), "kasmap-identity-")), "kubeconfig");
  await simulator.writeKubeconfig(kubeconfig);
  return spawnCollectorProgram({ token, kubeconfig, topologyRoot: system.topology.root }).child;
}

async function stopCollector(): Promise<void> {
  const running = collector;
  collector = null;
  if (!running || running.exitCode !== null) return;
  await new Promise((resolve) => {
    running.once("exit", resolve);
    running.kill("SIGTERM");
  });
}

beforeAll(async () => {
  system = await startKasmapSystem();
});

afterAll(async () => {
  await stopCollector();
  for (const simulator of simulators) await simulator.close();
  await system?.stop();
});

describe("cluster identity", () => {
  it("records cluster_agent_cluster_changed and fails verify when the agent's token reports from another cluster", async () => {
    const api = system.api;
    const group = await api("POST", "/groups", { name: "Platform", path: "platform" });
    const project = await api("POST", "/projects", {
      name: "Clusters",
      path: "clusters",
      namespace_id: group.body?.id,
    });
    const projectId = project.body?.id as number;
    const agent = await api("POST", `/projects/${projectId}/cluster_agents`, { name: "prod-agent" });
    const agentId = agent.body?.id as number;
    const token = await api("POST", `/projects/${projectId}/cluster_agents/${agentId}/tokens`, {
      name: "collector",
    });
    const agentToken = String(token.body?.token);
    const infoPath = `/projects/${projectId}/cluster_agents/${agentId}/cluster_info`;
    const uidIs = (uid: string, what: string) =>
      eventually(
        async () => {
          const r = await api("GET", infoPath);
          return r.status === 200 && r.body?.cluster_uid === uid ? r.body : undefined;
        },
        what,
        30_000,
      );

    collector = await startCollectorAgainst(await clusterWithUid(FIRST_UID), agentToken);
    const first = await uidIs(FIRST_UID, "cluster_info from the first cluster");
    expect(first.sources).toMatchObject({
      cluster_uid: { kind: "observed", source: "Namespace kube-system metadata.uid" },
    });
    const verifyPath = `${infoPath}/verify`;
    const before = await api("POST", verifyPath, { cluster_uid: FIRST_UID });
    expect(before.body).toMatchObject({ ok: true });

    await stopCollector();
    collector = await startCollectorAgainst(await clusterWithUid(SECOND_UID), agentToken);
    await uidIs(SECOND_UID, "cluster_info from the second cluster");

    const audit = await eventually(async () => {
      const r = await api(
        "GET",
        `/projects/${projectId}/audit_events?event_type=cluster_agent_cluster_changed`,
      );
      return Array.isArray(r.body) && r.body.length > 0 ? r.body : undefined;
    }, "the cluster_changed audit event");
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      event_name: "cluster_agent_cluster_changed",
      entity_id: projectId,
      details: {
        target_id: agentId,
        target_type: "Clusters::Agent",
        before: { cluster_uid: FIRST_UID, cluster_name: "kubernetes" },
        after: { cluster_uid: SECOND_UID, cluster_name: "kubernetes" },
      },
    });

    const after = await api("POST", verifyPath, { cluster_uid: FIRST_UID });
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({
      ok: false,
      checks: [
        {
          field: "cluster_uid",
          ok: false,
          value: SECOND_UID,
          reason: `cluster_uid is "${SECOND_UID}", expected "${FIRST_UID}"`,
        },
      ],
    });
  });
});
