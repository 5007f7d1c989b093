import type { AccessRule, KubeSimulatorOptions } from "@kasmap/kube-simulator";
import { eventually } from "@kasmap/testing/harness";
import { afterEach, describe, expect, it } from "vitest";
import {
  type CollectorTestCluster,
  setInternalIp,
  startCollectorTestCluster,
} from "./testing/collector-test-cluster.ts";

/**
 * What a real cluster does to a long-running collector: RBAC that forbids some sources, watch
 * history compacted while it was away, connections ended cleanly or cut, malformed objects.
 * Each test gets its own simulator (some change server-wide state).
 */
let cluster: CollectorTestCluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function latestInternalIps(c: CollectorTestCluster, agentId: number, expected: string) {
  return c.latestSnapshotWhen(
    agentId,
    (facts) => facts.node_ips.internal.includes(expected),
    `a snapshot with ${expected}`,
  );
}

/**
 * This test's own cluster (closed after it) with a collector for `agentId` that has published the
 * fixture's addresses.
 */
async function clusterWithCollector(agentId: number, options: KubeSimulatorOptions = {}) {
  const c = await startCollectorTestCluster(options);
  cluster = c;
  const collector = c.startCollector(agentId);
  await latestInternalIps(c, agentId, "192.168.49.3");
  return { c, collector };
}

/**
 * Every path the collector has watched has an open watch again, and no list has been made for
 * half a second: the informers have all relisted and are back on their watches. (At least 7:
 * the watched sources of a plain cluster.)
 */
async function watchesSettled(c: CollectorTestCluster, what: string): Promise<void> {
  const lists = () => c.simulator.requests.filter((r) => r.verb === "list").length;
  const watchedPaths = () =>
    new Set(c.simulator.requests.filter((r) => r.verb === "watch").map((r) => r.path)).size;
  let seen = -1;
  let since = Date.now();
  await eventually(() => {
    const now = lists();
    if (now !== seen) {
      seen = now;
      since = Date.now();
    }
    const open = c.simulator.openWatchCount;
    return open >= 7 && open >= watchedPaths() && Date.now() - since >= 500 ? true : undefined;
  }, what);
}

const READ = ["get", "list", "watch"];
/** Everything the collector reads except ConfigMaps (a ClusterRole that forgot them). */
const WITHOUT_CONFIGMAPS: AccessRule[] = [
  { verbs: READ, resource: "nodes", apiGroup: "" },
  { verbs: READ, resource: "services", apiGroup: "" },
  { verbs: READ, resource: "endpointslices", apiGroup: "discovery.k8s.io" },
  { verbs: READ, resource: "servicecidrs", apiGroup: "networking.k8s.io" },
  { verbs: READ, resource: "*", apiGroup: "config.openshift.io" },
];

describe("collector resilience", () => {
  it("reports kubeadm-derived fields as forbidden without ConfigMap access, and picks them up once granted", async () => {
    // The simulator reads the rules array it was given on every request, so pushing a rule
    // into it later acts like an administrator granting the missing permission.
    const rules = [...WITHOUT_CONFIGMAPS];
    cluster = await startCollectorTestCluster({ rules });
    const collector = cluster.startCollector(1, { recheckMissingMs: 200 });
    const [first] = await cluster.snapshotsWhen(1, (s) => s.length > 0, "the first snapshot");
    const facts = first?.cluster;
    expect(facts?.node_ips.internal).toHaveLength(3);
    expect(facts?.cluster_name).toBeNull();
    expect(facts?.sources.cluster_name).toMatchObject({ kind: "missing", reason: "forbidden" });
    expect(facts?.platform).toBe("unknown");
    expect(facts?.sources.platform).toMatchObject({ kind: "missing", reason: "forbidden" });
    // Not null, but honestly labelled: the union of node ranges, the cluster range unreadable;
    // the single value covers all three nodes' ranges (10.244.0.0/23 left out the third).
    expect(facts?.pod_cidrs).toEqual(["10.244.0.0/23", "10.244.2.0/24"]);
    expect(facts?.pod_cidr).toBe("10.244.0.0/22");
    expect(facts?.sources.pod_cidr).toMatchObject({ kind: "inferred", source: "node.spec.podCIDRs" });
    expect(JSON.stringify(facts?.sources.pod_cidr)).toMatch(/kubeadm-config: forbidden/);
    expect(cluster.simulator.requests.some((r) => r.path.endsWith("/configmaps") && r.status === 403)).toBe(
      true,
    );

    rules.push({ verbs: READ, resource: "configmaps", apiGroup: "" });
    const granted = await cluster.latestSnapshotWhen(
      1,
      (facts) => Boolean(facts.cluster_name),
      "the kubeadm values after the grant",
    );
    expect(granted.cluster.cluster_name).toBe("kubernetes");
    expect(granted.cluster.platform).toBe("kubeadm");
    await cluster.latestSnapshotWhen(
      1,
      (facts) => facts.pod_cidr === "10.244.0.0/16" && facts.api_endpoint === "https://192.168.49.2:6443",
      "pod CIDR and API endpoint from kubeadm's ConfigMaps",
    );
    await collector.stop();
  });

  it("relists after 410 Gone when history was compacted while its watches were down", async () => {
    const { c, collector } = await clusterWithCollector(2, { historyLimit: 5 });
    await eventually(() => (c.simulator.openWatchCount >= 7 ? true : undefined), "the watches to open");

    const listsBefore = c.simulator.requests.filter(
      (r) => r.verb === "list" && r.path === "/api/v1/nodes",
    ).length;
    c.simulator.dropWatches("graceful");
    setInternalIp(c.simulator, "k8s-worker-1", "192.168.49.33");
    c.simulator.compactHistory();

    const converged = await latestInternalIps(c, 2, "192.168.49.33");
    expect(converged.cluster.node_ips.internal).toEqual(["192.168.49.2", "192.168.49.4", "192.168.49.33"]);
    const nodeRequests = c.simulator.requests.filter((r) => r.path === "/api/v1/nodes");
    const gone = nodeRequests.findIndex((r) => r.verb === "watch" && r.status === 410);
    expect(gone).toBeGreaterThanOrEqual(0);
    expect(nodeRequests.slice(gone + 1).some((r) => r.verb === "list" && r.status === 200)).toBe(true);
    expect(nodeRequests.filter((r) => r.verb === "list").length).toBeGreaterThan(listsBefore);
    await collector.stop();
  });

  it("reconnects after the connections are cut and converges on changes made meanwhile", async () => {
    const { c, collector } = await clusterWithCollector(3);
    await watchesSettled(c, "the watches to open");

    for (let round = 1; round <= 3; round++) {
      c.simulator.dropWatches("abrupt");
      setInternalIp(c.simulator, "k8s-worker-2", `192.168.49.${100 + round}`);
      await latestInternalIps(c, 3, `192.168.49.${100 + round}`);
      await watchesSettled(c, "the watches to reopen");
    }
    // A later change travels over the new watches, not only a relist.
    const listsNow = c.simulator.requests.filter((r) => r.verb === "list").length;
    setInternalIp(c.simulator, "k8s-worker-2", "192.168.49.200");
    await latestInternalIps(c, 3, "192.168.49.200");
    expect(c.simulator.requests.filter((r) => r.verb === "list").length).toBe(listsNow);
    await collector.stop();
  });

  it("counts and logs a malformed node without crashing, and keeps publishing", async () => {
    const { c, collector } = await clusterWithCollector(4);
    c.simulator.upsert({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "broken-addresses" },
      status: { addresses: "192.168.49.99" },
    });
    c.simulator.upsert({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "odd-values" },
      status: {
        addresses: [
          { type: "InternalIP", address: "999.1.2.3" },
          { type: "Teleport", address: "192.168.49.98" },
          { type: "InternalIP", address: "192.168.49.97" },
        ],
      },
    });
    const diagnostics = await eventually(() => {
      const d = collector.latest?.diagnostics;
      return d && d.invalidIps > 0 && d.unknownAddressTypes > 0 && d.rejectedObjects.nodes ? d : undefined;
    }, "diagnostics for the malformed nodes");
    expect(diagnostics.rejectedObjects.nodes).toBe(1);
    expect(diagnostics.samples.join("\n")).toMatch(/999\.1\.2\.3/);
    const warning = await eventually(
      () => c.logs.find((l) => l.level === 40 && l.msg.includes("during derivation")),
      "the warn log",
    );
    expect(warning.diagnostics).toMatchObject({ invalidIps: 1, unknownAddressTypes: 1 });
    const last = await latestInternalIps(c, 4, "192.168.49.97");
    expect(last.cluster.node_ips.internal).not.toContain("999.1.2.3");
    expect(last.cluster.node_ips.internal).not.toContain("192.168.49.98");

    setInternalIp(c.simulator, "k8s-cp-1", "192.168.49.12");
    await latestInternalIps(c, 4, "192.168.49.12");
    await collector.stop();
  });
});
