import {
  CoreV1Api,
  type Informer,
  KubeConfig,
  type KubernetesObject,
  makeInformer,
  type ObjectCache,
  type V1ConfigMap,
  type V1Node,
} from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { DEMO_CLUSTER_DIRECTORY } from "./demo-cluster-directory.ts";
import { KubeSimulator, type KubeSimulatorOptions } from "./kube-simulator.ts";
import { buildKubeconfig } from "./kubeconfig.ts";
import { waitUntil } from "./testing/wait-until.ts";

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startDemoCluster(
  options: KubeSimulatorOptions = {},
): Promise<{ sim: KubeSimulator; kc: KubeConfig }> {
  const sim = new KubeSimulator(options);
  await sim.loadFromDirectory(DEMO_CLUSTER_DIRECTORY);
  const { url } = await sim.start();
  cleanups.push(() => sim.close());
  const kc = new KubeConfig();
  kc.loadFromString(buildKubeconfig(url, { token: "kasmap-token" }));
  return { sim, kc };
}

async function startInformer<T extends KubernetesObject>(informer: Informer<T>): Promise<void> {
  cleanups.push(() => informer.stop());
  await informer.start();
}

function nodeInformer(kc: KubeConfig): Informer<V1Node> & ObjectCache<V1Node> {
  const api = kc.makeApiClient(CoreV1Api);
  return makeInformer(kc, "/api/v1/nodes", () => api.listNode());
}

function names(informer: ObjectCache<V1Node>): string[] {
  return informer
    .list()
    .map((n) => n.metadata?.name ?? "")
    .sort();
}

const newNode = {
  apiVersion: "v1",
  kind: "Node",
  metadata: { name: "k8s-worker-3", labels: { "kubernetes.io/hostname": "k8s-worker-3" } },
  status: { addresses: [{ type: "InternalIP", address: "192.168.49.5" }] },
};

describe("client-node informer against the simulator", () => {
  it("lists the fixture nodes, then receives add, update and delete", async () => {
    const { sim, kc } = await startDemoCluster();
    const informer = nodeInformer(kc);
    const seen: string[] = [];
    informer.on("add", (n) => seen.push(`add ${n.metadata?.name}`));
    informer.on("update", (n) =>
      seen.push(`update ${n.metadata?.name} ${n.metadata?.labels?.maintenance ?? ""}`),
    );
    informer.on("delete", (n) => seen.push(`delete ${n.metadata?.name}`));
    await startInformer(informer);
    expect(names(informer)).toEqual(["k8s-cp-1", "k8s-worker-1", "k8s-worker-2"]);
    await waitUntil("the watch is open", () => sim.openWatchCount === 1);

    sim.upsert(newNode);
    sim.patchNode("k8s-worker-1", (node) => {
      node.metadata.labels = { ...node.metadata.labels, maintenance: "true" };
      return node;
    });
    sim.delete("v1", "Node", undefined, "k8s-cp-1");

    await waitUntil("all three changes arrived", () => seen.includes("delete k8s-cp-1"));
    expect(seen.slice(3)).toEqual(["add k8s-worker-3", "update k8s-worker-1 true", "delete k8s-cp-1"]);
    expect(names(informer)).toEqual(["k8s-worker-1", "k8s-worker-2", "k8s-worker-3"]);
  });

  it("relists after a 410 when history was compacted and the watch dropped, and converges", async () => {
    const { sim, kc } = await startDemoCluster();
    const informer = nodeInformer(kc);
    const deleted: string[] = [];
    informer.on("delete", (n) => deleted.push(n.metadata?.name ?? ""));
    await startInformer(informer);
    await waitUntil("the watch is open", () => sim.openWatchCount === 1);
    const requestsBefore = sim.requests.length;

    sim.compactHistory();
    sim.dropWatches();
    // Changed while the informer is disconnected: only a relist can reveal the deletion.
    sim.delete("v1", "Node", undefined, "k8s-worker-2");
    sim.upsert(newNode);

    await waitUntil(
      "the informer converged",
      () => names(informer).join() === "k8s-cp-1,k8s-worker-1,k8s-worker-3",
    );
    const after = sim.requests.slice(requestsBefore);
    const expiredAt = after.findIndex((r) => r.verb === "watch" && r.status === 410);
    expect(expiredAt).toBeGreaterThanOrEqual(0);
    expect(after.slice(expiredAt).some((r) => r.verb === "list" && r.status === 200)).toBe(true);
    expect(deleted).toEqual(["k8s-worker-2"]);
    await waitUntil("the informer watches again", () => sim.openWatchCount === 1);
  });

  it("surfaces 403 Forbidden as an informer error when RBAC does not allow the resource", async () => {
    const { kc } = await startDemoCluster({
      bearerTokens: { "kasmap-token": "system:serviceaccount:gitlab-agent:kasmap" },
      rules: [{ verbs: ["list", "watch", "get"], resource: "nodes", apiGroup: "" }],
    });
    const api = kc.makeApiClient(CoreV1Api);
    const informer = makeInformer<V1ConfigMap>(kc, "/api/v1/configmaps", () =>
      api.listConfigMapForAllNamespaces(),
    );
    const errors: unknown[] = [];
    informer.on("error", (error) => errors.push(error));
    await startInformer(informer);
    await waitUntil("the informer reported an error", () => errors.length > 0);
    expect(errors[0]).toMatchObject({ code: 403 });
    // client-node's ApiException carries the raw response body: the Status the server wrote.
    const status: unknown = JSON.parse(String((errors[0] as { body?: unknown }).body));
    expect(status).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message:
        'configmaps is forbidden: User "system:serviceaccount:gitlab-agent:kasmap" cannot list resource "configmaps" in API group "" at the cluster scope',
      reason: "Forbidden",
      details: { kind: "configmaps" },
      code: 403,
    });

    const nodes = nodeInformer(kc);
    await startInformer(nodes);
    expect(names(nodes)).toHaveLength(3);
  });
});
