import { afterEach, describe, expect, it } from "vitest";
import { KubeSimulator, type KubeSimulatorOptions } from "./kube-simulator.ts";

const simulators: KubeSimulator[] = [];
afterEach(async () => {
  for (const sim of simulators.splice(0)) await sim.close();
});

async function start(options: KubeSimulatorOptions = {}): Promise<KubeSimulator> {
  const sim = new KubeSimulator(options);
  simulators.push(sim);
  for (const name of ["a", "b"]) {
    sim.upsert({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name, labels: { pool: name === "a" ? "x" : "y" } },
    });
  }
  await sim.start();
  return sim;
}

async function getJson(sim: KubeSimulator, path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${sim.url}${path}`, { headers });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Reads a whole watch stream (the server must end it) and parses its lines. */
async function readWatch(
  sim: KubeSimulator,
  path: string,
): Promise<Array<{ type: string; object: Record<string, unknown> }>> {
  const response = await fetch(`${sim.url}${path}`);
  expect(response.status).toBe(200);
  const text = await response.text();
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line));
}

describe("the simulator's wire format", () => {
  it("lists with a resourceVersion and items without kind, filtered by label selector", async () => {
    const sim = await start();
    const { status, body } = await getJson(sim, "/api/v1/nodes?labelSelector=pool%3Dy");
    expect(status).toBe(200);
    expect(body).toMatchObject({
      kind: "NodeList",
      apiVersion: "v1",
      metadata: { resourceVersion: sim.resourceVersion },
    });
    expect(body.items).toEqual([expect.not.objectContaining({ kind: expect.anything() })]);
    expect(body.items).toEqual([
      expect.objectContaining({ metadata: expect.objectContaining({ name: "b" }) }),
    ]);
  });

  it("pages with limit and continue", async () => {
    const sim = await start();
    const first = await getJson(sim, "/api/v1/nodes?limit=1");
    const token = (first.body.metadata as { continue: string }).continue;
    expect(first.body.metadata).toMatchObject({ remainingItemCount: 1 });
    const second = await getJson(sim, `/api/v1/nodes?limit=1&continue=${encodeURIComponent(token)}`);
    expect(second.body.items).toEqual([
      expect.objectContaining({ metadata: expect.objectContaining({ name: "b" }) }),
    ]);
    expect(second.body.metadata).not.toHaveProperty("continue");
  });

  it("serves every page of one list at the first page's resourceVersion", async () => {
    const sim = await start();
    const first = await getJson(sim, "/api/v1/nodes?limit=1");
    const listedAt = (first.body.metadata as { resourceVersion: string }).resourceVersion;
    sim.upsert({ apiVersion: "v1", kind: "Node", metadata: { name: "c" } });
    const token = (first.body.metadata as { continue: string }).continue;
    const second = await getJson(sim, `/api/v1/nodes?limit=5&continue=${encodeURIComponent(token)}`);
    expect(second.body.metadata).toEqual({ resourceVersion: listedAt });
    expect((second.body.items as Array<{ metadata: { name: string } }>).map((o) => o.metadata.name)).toEqual([
      "b",
      "c",
    ]);
  });

  it("answers a continue token from a compacted revision with 410 Expired, and a fresh list still pages", async () => {
    const sim = await start();
    // Compacts after the first page is decided, before the client can ask for the next one.
    const stop = sim.onRequest((r) => {
      if (r.verb === "list" && r.query.includes("limit=") && !r.query.includes("continue=")) {
        sim.compactHistory();
        stop();
      }
    });
    const first = await getJson(sim, "/api/v1/nodes?limit=1");
    const token = (first.body.metadata as { continue: string }).continue;
    const expired = await getJson(sim, `/api/v1/nodes?limit=1&continue=${encodeURIComponent(token)}`);
    expect(expired).toMatchObject({ status: 410, body: { kind: "Status", reason: "Expired", code: 410 } });
    const fresh = await getJson(sim, "/api/v1/nodes?limit=1");
    expect(fresh.status).toBe(200);
    expect(fresh.body.metadata).toHaveProperty("continue");
  });

  it("rejects a continue token it did not issue with 400", async () => {
    const sim = await start();
    const { status, body } = await getJson(sim, "/api/v1/nodes?limit=1&continue=bogus");
    expect(status).toBe(400);
    expect(body).toMatchObject({ reason: "BadRequest" });
  });

  it("replays history after a resourceVersion and ends at timeoutSeconds", async () => {
    const sim = await start();
    const events = await readWatch(sim, "/api/v1/nodes?watch=true&resourceVersion=1&timeoutSeconds=1");
    expect(events.map((e) => e.type)).toEqual(["ADDED"]);
    expect(events[0]?.object).toMatchObject({
      kind: "Node",
      apiVersion: "v1",
      metadata: { name: "b", resourceVersion: "2" },
    });
  });

  it("answers a watch from a compacted resourceVersion with one 410 Expired ERROR event", async () => {
    const sim = await start();
    sim.compactHistory();
    const events = await readWatch(sim, "/api/v1/nodes?watch=true&resourceVersion=1");
    expect(events).toEqual([
      {
        type: "ERROR",
        object: {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Failure",
          message: "too old resource version: 1 (3)",
          reason: "Expired",
          code: 410,
        },
      },
    ]);
    const list = await getJson(sim, "/api/v1/nodes?resourceVersion=1&resourceVersionMatch=Exact");
    expect(list).toMatchObject({ status: 410, body: { kind: "Status", reason: "Expired", code: 410 } });
  });

  it("sends BOOKMARK events when asked to", async () => {
    const sim = await start({ bookmarkIntervalMs: 20 });
    const events = await readWatch(
      sim,
      `/api/v1/nodes?watch=true&resourceVersion=${sim.resourceVersion}&allowWatchBookmarks=true&timeoutSeconds=1`,
    );
    expect(events.length).toBeGreaterThan(0);
    expect(events[0]).toEqual({
      type: "BOOKMARK",
      object: { kind: "Node", apiVersion: "v1", metadata: { resourceVersion: sim.resourceVersion } },
    });
  });

  it("requires a known bearer token when tokens are configured", async () => {
    const sim = await start({ bearerTokens: { s3cret: "system:serviceaccount:gitlab-agent:kasmap" } });
    expect(await getJson(sim, "/api/v1/nodes")).toMatchObject({
      status: 401,
      body: { reason: "Unauthorized", code: 401 },
    });
    expect((await getJson(sim, "/api/v1/nodes", { authorization: "Bearer wrong" })).status).toBe(401);
    expect((await getJson(sim, "/api/v1/nodes", { authorization: "Bearer s3cret" })).status).toBe(200);
  });

  it("forbids what the rules do not allow, naming the object and namespace", async () => {
    const sim = await start({
      anonymousUser: "system:serviceaccount:gitlab-agent:kasmap",
      rules: [
        {
          verbs: ["get"],
          resource: "configmaps",
          apiGroup: "",
          namespace: "kube-system",
          resourceNames: ["x"],
        },
      ],
    });
    const denied = await getJson(sim, "/api/v1/namespaces/kube-system/configmaps/kubeadm-config");
    expect(denied).toEqual({
      status: 403,
      body: {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message:
          'configmaps "kubeadm-config" is forbidden: User "system:serviceaccount:gitlab-agent:kasmap" cannot get resource "configmaps" in API group "" in the namespace "kube-system"',
        reason: "Forbidden",
        details: { name: "kubeadm-config", kind: "configmaps" },
        code: 403,
      },
    });
    // Allowed by the rule, but absent: a NotFound Status, not a 403.
    expect(await getJson(sim, "/api/v1/namespaces/kube-system/configmaps/x")).toMatchObject({
      status: 404,
      body: { reason: "NotFound", message: 'configmaps "x" not found' },
    });
  });

  it("serves config.openshift.io only once such objects exist", async () => {
    const sim = await start();
    expect((await fetch(`${sim.url}/apis/config.openshift.io/v1/infrastructures`)).status).toBe(404);
    const groups = (await getJson(sim, "/apis")).body.groups as Array<{ name: string }>;
    expect(groups.map((g) => g.name)).not.toContain("config.openshift.io");

    sim.upsert({
      apiVersion: "config.openshift.io/v1",
      kind: "Infrastructure",
      metadata: { name: "cluster" },
      status: { platform: "AWS", infrastructureName: "ocp-x7k2p" },
    });
    const list = await getJson(sim, "/apis/config.openshift.io/v1/infrastructures");
    expect(list.body.items).toEqual([
      expect.objectContaining({ kind: "Infrastructure", status: expect.anything() }),
    ]);
    const groupsAfter = (await getJson(sim, "/apis")).body.groups as Array<{ name: string }>;
    expect(groupsAfter.map((g) => g.name)).toContain("config.openshift.io");
  });

  it("serves one ServiceCIDR at v1 and v1beta1 unless a version is disabled", async () => {
    const sim = await start({ disabledGroupVersions: ["networking.k8s.io/v1"] });
    sim.upsert({ apiVersion: "networking.k8s.io/v1", kind: "ServiceCIDR", metadata: { name: "kubernetes" } });
    expect((await fetch(`${sim.url}/apis/networking.k8s.io/v1/servicecidrs`)).status).toBe(404);
    const beta = await getJson(sim, "/apis/networking.k8s.io/v1beta1/servicecidrs/kubernetes");
    expect(beta.body).toMatchObject({ apiVersion: "networking.k8s.io/v1beta1", kind: "ServiceCIDR" });
  });
});
