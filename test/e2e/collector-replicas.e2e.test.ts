import type { ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEMO_CLUSTER_DIRECTORY, KubeSimulator } from "@kasmap/kube-simulator";
import { eventually } from "@kasmap/testing/harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnCollectorProgram, stopCollectorProgram } from "./collector-program.ts";
import { agentWithToken, groupWithProject, kasmapSystemForFile } from "./system-for-file.ts";

/**
 * Issue 11, every replica: two collector processes of one agent (two pods of one Deployment,
 * as agentk runs two by default) watch one cluster side by side. `cluster_info.connections`
 * lists both; they write one snapshot history, not one each; and a replica that stops leaves
 * the list.
 */
const system = kasmapSystemForFile();
const REPLICAS = [
  { name: "kasmap-collector-7d9f-aaaaa", ip: "10.244.1.21", node: "k8s-worker-1" },
  { name: "kasmap-collector-7d9f-bbbbb", ip: "10.244.2.22", node: "k8s-worker-2" },
] as const;
let simulator: KubeSimulator;
const running = new Map<string, ChildProcess>();

async function stopReplica(name: string): Promise<void> {
  const child = running.get(name);
  running.delete(name);
  await stopCollectorProgram(child);
}

beforeAll(async () => {
  simulator = new KubeSimulator();
  await simulator.loadFromDirectory(DEMO_CLUSTER_DIRECTORY);
  await simulator.start();
});

afterAll(async () => {
  for (const name of [...running.keys()]) await stopReplica(name);
  await simulator?.close();
});

describe("two collector replicas of one agent", () => {
  it("show as two connections, write one snapshot history, and a stopped one leaves", async () => {
    const { api } = system;
    const { projectId } = await groupWithProject(system, system.adminToken, {
      group: "Replicas",
      project: "Clusters",
    });
    const { agentId, agentToken } = await agentWithToken(system, projectId, "ha-agent");
    const kubeconfig = join(mkdtempSync(join(tmpdir(), "kasmap-replicas-")), "kubeconfig");
    await simulator.writeKubeconfig(kubeconfig);
    for (const replica of REPLICAS) {
      const { child } = spawnCollectorProgram({
        token: agentToken,
        kubeconfig,
        topologyRoot: system.topology.root,
        pod: { ip: replica.ip, namespace: "gitlab-agent", name: replica.name, node: replica.node },
        // A loaded machine may keep a source from answering for long; the forced snapshot the
        // settle timeout publishes then is a history entry of its own, not what this is about.
        args: ["--heartbeat-seconds", "1", "--settle-seconds", "120"],
      });
      running.set(replica.name, child);
    }
    const infoPath = `/projects/${projectId}/cluster_agents/${agentId}/cluster_info`;
    const historyPath = `${infoPath}/history`;
    type Connection = { collector_id: string; pod_name: string; pod_ip: string; node: string };
    type Info = { connections: Connection[]; agent_pod_ip: string | null; deployment_status: string };
    const connectionsWhen = (accept: (connections: Connection[]) => boolean, what: string) =>
      eventually(
        async () => {
          const r = await api("GET", infoPath);
          const info = r.body as unknown as Info | null;
          return r.status === 200 && info?.connections && accept(info.connections) ? info : undefined;
        },
        what,
        60_000,
      );
    const byPod = (connections: Connection[]) => connections.map((c) => c.pod_name).sort();

    const both = await connectionsWhen((c) => c.length === 2, "both replicas connected");
    expect(byPod(both.connections)).toEqual(REPLICAS.map((r) => r.name));
    for (const replica of REPLICAS) {
      expect(both.connections).toContainEqual(
        expect.objectContaining({
          collector_id: replica.name,
          pod_name: replica.name,
          pod_ip: replica.ip,
          namespace: "gitlab-agent",
          node: replica.node,
          version: expect.any(String),
          connected_at: expect.any(String),
          last_heartbeat_at: expect.any(String),
        }),
      );
    }
    expect(REPLICAS.map((r) => r.ip)).toContain(both.agent_pod_ip);
    expect(both.deployment_status).toBe("connected");

    type HistoryEntry = { content_hash: string; cluster_info: { node_ips: { internal: string[] } } };
    const historyWhen = (accept: (entries: HistoryEntry[]) => boolean, what: string) =>
      eventually(
        async () => {
          const entries = (await api("GET", historyPath)).body as unknown as HistoryEntry[] | null;
          return entries && accept(entries) ? entries : undefined;
        },
        what,
        30_000,
      );
    // The first snapshot, before the change: the change is then the history's second entry.
    // Only the first is awaited, so the other replica may still be reading the cluster when it
    // changes (its first view older than the first replica's second snapshot).
    const [first] = await historyWhen((entries) => entries.length > 0, "the first snapshot");

    // Both replicas see the same change; the history gains one entry, not one per replica.
    simulator.patchNode("k8s-worker-2", (node) => {
      const status = node.status as { addresses: Array<{ type: string; address: string }> };
      const addresses = status.addresses.map((a) =>
        a.type === "InternalIP" ? { ...a, address: "192.168.49.44" } : a,
      );
      return { ...node, status: { ...status, addresses } };
    });
    const history = await historyWhen(
      (entries) => entries[0]?.cluster_info.node_ips.internal.includes("192.168.49.44") === true,
      "the change in the history",
    );
    const newest = history[0]?.content_hash;
    // Each replica's heartbeat carries the content hash it knows is published: once both name
    // the newest, both have handled the change, and nothing more is on its way.
    await eventually(
      async () => {
        const hashes = await Promise.all(
          REPLICAS.map(async (replica) => {
            const message = await system.bus.jsm.direct.getMessage(system.topology.streamNames.heartbeat, {
              last_by_subj: system.topology.subjects.clusterCollectorHeartbeat(agentId, replica.name),
            });
            return message?.json<{ data: { content_hash: string | null } }>().data.content_hash;
          }),
        );
        return hashes.every((hash) => hash === newest) ? true : undefined;
      },
      "both replicas handled the change",
      30_000,
    );
    const settled = (await api("GET", historyPath)).body as unknown as HistoryEntry[];
    expect(settled.map((entry) => entry.content_hash)).toEqual([newest, first?.content_hash]);

    const [kept, stopped] = REPLICAS;
    await stopReplica(stopped.name);
    const one = await connectionsWhen((c) => c.length === 1, "the stopped replica's connection ended");
    expect(byPod(one.connections)).toEqual([kept.name]);
    expect(one.agent_pod_ip).toBe(kept.ip);
    expect(one.deployment_status).toBe("connected");
  }, 180_000);
});
