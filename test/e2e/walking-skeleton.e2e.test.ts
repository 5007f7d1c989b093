import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEMO_CLUSTER_DIRECTORY, KubeSimulator } from "@kasmap/kube-simulator";
import { eventually, testNatsUrl } from "@kasmap/testing/harness";
import type { KasmapSystem } from "@kasmap/testing/system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { changeNodeInternalIp } from "./collector-program.ts";
import { kasmapSystemForFile } from "./system-for-file.ts";

/**
 * The whole system through its public interfaces: REST in, a real collector program watching
 * a simulated 3-node cluster over the Kubernetes REST API, NATS JetStream and PostgreSQL in
 * between, `cluster_info` out.
 */
const root = fileURLToPath(new URL("../..", import.meta.url));
const system = kasmapSystemForFile();
let simulator: KubeSimulator;
let collector: ChildProcess | null = null;
const api: KasmapSystem["api"] = (...args) => system.api(...args);

beforeAll(async () => {
  simulator = new KubeSimulator();
  await simulator.loadFromDirectory(DEMO_CLUSTER_DIRECTORY);
  await simulator.start({ host: "127.0.0.1", port: 0 });
});

afterAll(async () => {
  collector?.kill("SIGTERM");
  await simulator?.close();
});

describe("walking skeleton", () => {
  it("answers 401 with GitLab's body without a valid token", async () => {
    const anonymous = await api("GET", "/projects/1/cluster_agents", undefined, null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toEqual({ message: "401 Unauthorized" });
    const wrong = await api("GET", "/projects/1/cluster_agents", undefined, "glpat-not-a-real-token");
    expect(wrong.status).toBe(401);
  });

  it("registers an agent over REST, runs the collector, and serves its cluster_info; a node change shows up without restart", async () => {
    const group = await api("POST", "/groups", { name: "Platform", path: "platform" });
    expect(group.status).toBe(201);
    const project = await api("POST", "/projects", {
      name: "Clusters",
      path: "clusters",
      namespace_id: group.body?.id,
    });
    expect(project.status).toBe(201);
    const projectPath = encodeURIComponent("platform/clusters");
    const agent = await api("POST", `/projects/${projectPath}/cluster_agents`, { name: "prod-agent" });
    expect(agent.status).toBe(201);
    const agentId = agent.body?.id as number;
    const token = await api("POST", `/projects/${project.body?.id}/cluster_agents/${agentId}/tokens`, {
      name: "collector",
    });
    expect(token.status).toBe(201);
    expect(String(token.body?.token)).toMatch(/^glagent-/);

    const listed = await api("GET", `/projects/${projectPath}/cluster_agents`);
    expect(listed.status).toBe(200);
    expect(listed.headers.get("x-total")).toBe("1");
    const plain = await api("GET", `/projects/${projectPath}/cluster_agents/${agentId}`);
    expect(Object.keys(plain.body ?? {}).sort()).toEqual([
      "config_project",
      "created_at",
      "created_by_user_id",
      "id",
      "name",
    ]);
    const before = await api(
      "GET",
      `/projects/${projectPath}/cluster_agents/${agentId}?with_cluster_info=true`,
    );
    expect(before.body?.cluster_info).toBeNull();

    const kubeconfig = join(mkdtempSync(join(tmpdir(), "kasmap-e2e-")), "kubeconfig");
    await simulator.writeKubeconfig(kubeconfig);
    collector = spawn(
      process.execPath,
      [join(root, "services/collector/bin/kasmap-collector.mjs"), "--coalesce-ms", "50"],
      {
        env: {
          ...process.env,
          KASMAP_AGENT_TOKEN: String(token.body?.token),
          KUBECONFIG: kubeconfig,
          NATS_URL: testNatsUrl(),
          KASMAP_TOPOLOGY_ROOT: system.topology.root,
          POD_IP: "10.244.1.17",
          POD_NAMESPACE: "gitlab-agent",
          LOG_LEVEL: "silent",
        },
        stdio: ["ignore", "ignore", "inherit"],
      },
    );

    type Info = {
      node_ips: { internal: string[]; external: string[] };
      pod_cidr: string | null;
      api_endpoint: string | null;
      kubernetes_version: { git_version: string } | null;
      deployment_status: string;
      agent_pod_ip: string | null;
    };
    const clusterInfoPath = `/projects/${projectPath}/cluster_agents/${agentId}/cluster_info`;
    const info = await eventually(
      async () => {
        const r = await api("GET", clusterInfoPath);
        return r.status === 200 && r.body ? (r.body as unknown as Info) : undefined;
      },
      "cluster_info from the collector",
      30_000,
    );
    expect(info.node_ips.internal).toEqual(["192.168.49.2", "192.168.49.3", "192.168.49.4"]);
    expect(info.pod_cidr).toBe("10.244.0.0/16");
    expect(info.api_endpoint).toMatch(/^https:\/\//);
    expect(info.kubernetes_version?.git_version).toMatch(/^v1\./);
    expect(info.agent_pod_ip).toBe("10.244.1.17");
    expect(info.deployment_status).toBe("connected");

    const changedAt = Date.now();
    changeNodeInternalIp(simulator, "k8s-worker-2", "192.168.49.44");
    const updated = await eventually(
      async () => {
        const r = await api(
          "GET",
          `/projects/${projectPath}/cluster_agents/${agentId}?with_cluster_info=true`,
        );
        const ips = (r.body?.cluster_info as Info | null)?.node_ips.internal ?? [];
        return ips.includes("192.168.49.44") ? ips : undefined;
      },
      "the node change to reach the gateway",
      10_000,
    );
    process.stderr.write(`[e2e] node change reached the gateway in ${Date.now() - changedAt} ms\n`);
    expect(updated).toEqual(["192.168.49.2", "192.168.49.3", "192.168.49.44"]);
  });
});
