import type { ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { publishEvent } from "@kasmap/bus";
import { EVENT_TYPES } from "@kasmap/contracts";
import { DEMO_CLUSTER_DIRECTORY, KubeSimulator } from "@kasmap/kube-simulator";
import { openSse, type SseConnection, testEvents } from "@kasmap/testing";
import { eventually } from "@kasmap/testing/harness";
import { type KasmapSystem, startKasmapSystem } from "@kasmap/testing/system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnCollectorProgram, stopCollectorProgram } from "./collector-program.ts";
import { agentWithToken, groupWithProject, userWithToken } from "./system-for-file.ts";

/**
 * Issue 11, cluster identity: an agent's token taken to another cluster. A real collector
 * program reports from one simulated cluster, then a new collector process with the same token
 * reports from a second one (another kube-system UID): the audit log records the move, the
 * alert reaches the live stream of those who may read the agent (and no one else), and `verify`
 * refuses the old UID, so a CI job can refuse to deploy.
 */
const FIRST_UID = "3f1e5c2a-1111-4a6b-9c7d-000000000001";
const SECOND_UID = "8b2d6e4f-2222-4c8d-8e9f-000000000002";
let system: KasmapSystem;
const simulators: KubeSimulator[] = [];
let collector: ChildProcess | null = null;
/** The collectors of the conflict case, running side by side. */
const conflicting: ChildProcess[] = [];
const live: SseConnection[] = [];

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

async function startCollectorAgainst(
  simulator: KubeSimulator,
  token: string,
  replica?: { pod: string; heartbeatSeconds: number },
): Promise<ChildProcess> {
  const kubeconfig = join(mkdtempSync(join(tmpdir(), "kasmap-identity-")), "kubeconfig");
  await simulator.writeKubeconfig(kubeconfig);
  return spawnCollectorProgram({
    token,
    kubeconfig,
    topologyRoot: system.topology.root,
    ...(replica
      ? {
          pod: { ip: "10.244.1.30", namespace: "gitlab-agent", name: replica.pod },
          args: ["--heartbeat-seconds", String(replica.heartbeatSeconds)],
        }
      : {}),
  }).child;
}

async function stopCollector(): Promise<void> {
  const running = collector;
  collector = null;
  await stopCollectorProgram(running);
}

beforeAll(async () => {
  system = await startKasmapSystem();
});

afterAll(async () => {
  for (const connection of live) connection.close();
  await stopCollector();
  for (const child of conflicting) await stopCollectorProgram(child);
  for (const simulator of simulators) await simulator.close();
  await system?.stop();
});

describe("cluster identity", () => {
  it("records cluster_agent_cluster_changed and fails verify when the agent's token reports from another cluster", async () => {
    const api = system.api;
    const { projectId } = await groupWithProject(system, system.adminToken, {
      group: "Platform",
      project: "Clusters",
    });
    const { agentId, agentToken } = await agentWithToken(system, projectId, "prod-agent");
    // A Developer of the agent's project may read it; the outsider is a Developer elsewhere only.
    const developer = await userWithToken(system, system.adminToken, "identity-developer");
    await api("POST", `/projects/${projectId}/members`, { user_id: developer.userId, access_level: 30 });
    const outsider = await userWithToken(system, system.adminToken, "identity-outsider");
    const elsewhere = await groupWithProject(system, system.adminToken, {
      group: "Elsewhere",
      project: "Lab",
    });
    await api("POST", `/projects/${elsewhere.projectId}/members`, {
      user_id: outsider.userId,
      access_level: 30,
    });
    const labAgent = await api("POST", `/projects/${elsewhere.projectId}/cluster_agents`, {
      name: "lab-agent",
    });
    const labAgentId = labAgent.body?.id as number;
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

    const streamUrl = `${system.gatewayUrl}/api/v4/events/stream`;
    const [developerLive, outsiderLive] = [
      await openSse(streamUrl, developer.token),
      await openSse(streamUrl, outsider.token),
    ];
    live.push(developerLive, outsiderLive);

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

    // The alert carries the audit event's own details (the streaming shape); the REST body adds
    // GitLab's keys (`event_name`, `author_*`, `target_*`, `entity_path`) to them.
    const GITLAB_DETAIL_KEYS = new Set([
      "event_name",
      "author_name",
      "author_class",
      "author_email",
      "target_id",
      "target_type",
      "target_details",
      "entity_path",
    ]);
    const storedDetails = (details: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(details).filter(([key]) => !GITLAB_DETAIL_KEYS.has(key)));
    const isAlertOf = (id: number) => (frame: { event: string; data: unknown }) =>
      frame.event === EVENT_TYPES.alertClusterChanged &&
      (frame.data as { data?: { agent_id?: number } }).data?.agent_id === id;
    const alert = await developerLive.next(isAlertOf(agentId), 30_000);
    expect(alert.id).toMatch(new RegExp(`^${system.topology.streamNames.alerts}:`));
    expect(alert.data).toMatchObject({
      type: EVENT_TYPES.alertClusterChanged,
      severity: "critical",
      subject: system.topology.subjects.alert(EVENT_TYPES.alertClusterChanged, agentId),
      data: { agent_id: agentId, entity_id: projectId, details: storedDetails(audit[0].details) },
    });
    // An alert the outsider may read, published after the real one on the same stream: once it
    // arrived, the real one was filtered for the outsider, not late.
    await publishEvent(
      system.bus,
      testEvents(system.topology).clusterChangedAlert(labAgentId, elsewhere.projectId),
    );
    await outsiderLive.next(isAlertOf(labAgentId), 30_000);
    expect(outsiderLive.received.filter(isAlertOf(agentId))).toEqual([]);

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

  it("records cluster_agent_cluster_conflict once when two collectors of one agent report different clusters at once", async () => {
    const { projectId } = await groupWithProject(system, system.adminToken, {
      group: "Twins",
      project: "Twin",
    });
    const api = system.api;
    const { agentId, agentToken } = await agentWithToken(system, projectId, "twin-agent");
    const streamUrl = `${system.gatewayUrl}/api/v4/events/stream`;
    const adminLive = await openSse(streamUrl, system.adminToken);
    live.push(adminLive);

    const [here, there] = [await clusterWithUid(FIRST_UID), await clusterWithUid(SECOND_UID)];
    conflicting.push(
      await startCollectorAgainst(here, agentToken, { pod: "collector-here", heartbeatSeconds: 1 }),
    );
    conflicting.push(
      await startCollectorAgainst(there, agentToken, { pod: "collector-there", heartbeatSeconds: 1 }),
    );

    const auditPath = `/projects/${projectId}/audit_events?event_type=cluster_agent_cluster_conflict`;
    const [audit] = await eventually(
      async () => {
        const r = await api("GET", auditPath);
        return Array.isArray(r.body) && r.body.length > 0 ? r.body : undefined;
      },
      "the cluster_conflict audit event",
      30_000,
    );
    expect(audit).toMatchObject({
      event_name: "cluster_agent_cluster_conflict",
      entity_id: projectId,
      details: {
        target_id: agentId,
        collectors: [
          { collector_id: "collector-here", pod_name: "collector-here", cluster_uid: FIRST_UID },
          { collector_id: "collector-there", pod_name: "collector-there", cluster_uid: SECOND_UID },
        ],
      },
    });
    const alert = await adminLive.next(
      (frame) =>
        frame.event === EVENT_TYPES.alertClusterConflict &&
        (frame.data as { data?: { agent_id?: number } }).data?.agent_id === agentId,
      30_000,
    );
    expect(alert.data).toMatchObject({ severity: "critical", data: { audit_event_id: expect.any(String) } });

    // Both keep beating (one heartbeat a second) well past the audit event: still one record.
    const infoPath = `/projects/${projectId}/cluster_agents/${agentId}/cluster_info`;
    const recorded = Date.parse(audit.created_at);
    await eventually(
      async () => {
        const r = await api("GET", infoPath);
        const connections = (r.body?.connections ?? []) as { last_heartbeat_at: string }[];
        const later = connections.filter((c) => Date.parse(c.last_heartbeat_at) > recorded + 3_000);
        return later.length === 2 ? true : undefined;
      },
      "both collectors beating after the conflict was recorded",
      30_000,
    );
    const again = await api("GET", auditPath);
    expect(again.body).toHaveLength(1);
  });
});
