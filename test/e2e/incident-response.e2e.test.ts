import { gatewayClient } from "@kasmap/testing";
import { eventually } from "@kasmap/testing/harness";
import { beforeAll, describe, expect, it } from "vitest";
import {
  buildIncidentRegistry,
  facts,
  type IncidentRegistry,
  publishInitialSnapshots,
  publishSnapshot,
} from "./incident-response-fixture.ts";
import { kasmapSystemForFile } from "./system-for-file.ts";

/**
 * Reverse lookup, verification and the group inventory through the REST API, with snapshots
 * projected by the real projection from NATS into PostgreSQL.
 */
const system = kasmapSystemForFile();
let registry: IncidentRegistry;

type LookupEntry = {
  agent: { id: number; name: string; config_project: { path_with_namespace: string } };
  matches: Array<{ field: string; address: string }>;
  cluster: { cluster_name: string | null; platform: string | null };
  deployable_by: {
    projects: Array<{ path_with_namespace: string }>;
    groups: Array<{ full_path: string }>;
    project_count: number;
  };
};

async function lookup(query: string, token?: string): Promise<LookupEntry[]> {
  const response = await system.api("GET", `/clusters/lookup?${query}`, undefined, token);
  expect(response.status).toBe(200);
  return response.body as unknown as LookupEntry[];
}

const agentNames = (entries: LookupEntry[]) => entries.map((e) => e.agent.name);

beforeAll(async () => {
  registry = await buildIncidentRegistry(system);
  await publishInitialSnapshots(system, registry);
  await eventually(async () => {
    const found = await lookup("cidr=0.0.0.0/0");
    return found.length === 3 ? found : undefined;
  }, "the three snapshots projected");
});

describe("reverse lookup", () => {
  it("finds the agent by IP, with matches, cluster and who can deploy; hides an agent the caller can't see", async () => {
    const forDeveloper = await lookup("ip=52.1.2.3", registry.developerToken);
    expect(agentNames(forDeveloper)).toEqual(["prod-agent"]);
    const [prod] = forDeveloper;
    expect(prod?.agent.config_project.path_with_namespace).toBe("acme/platform/clusters");
    expect(prod?.matches).toEqual([{ field: "node_ips.external", address: "52.1.2.3" }]);
    expect(prod?.cluster).toEqual({
      cluster_name: "prod",
      cluster_context: "prod-ctx",
      api_endpoint: "https://10.0.0.1:6443",
      platform: "eks",
      region: "eu-west-1",
    });
    expect(prod?.deployable_by.groups.map((g) => g.full_path)).toEqual(["acme/platform/edge"]);
    // acme/web explicitly, everything under acme/platform/edge, and the config project itself.
    expect(prod?.deployable_by.project_count).toBe(3);
    // The developer cannot see acme/web (member of acme/platform only): counted, not named.
    expect(prod?.deployable_by.projects.map((p) => p.path_with_namespace)).toEqual([
      "acme/platform/clusters",
      "acme/platform/edge/edge-infra",
    ]);

    const forAdmin = await lookup("ip=52.1.2.3");
    expect(agentNames(forAdmin)).toEqual(["prod-agent", "secret-agent"]);
    expect(forAdmin[0]?.deployable_by.projects.map((p) => p.path_with_namespace)).toEqual([
      "acme/platform/clusters",
      "acme/platform/edge/edge-infra",
      "acme/web",
    ]);
    expect(await lookup("ip=52.1.2.3", registry.outsiderToken)).toEqual([]);
  });

  it("answers who can deploy with one agent without an address, as the lookup does; 404 to whoever cannot read the agent", async () => {
    const path = `/projects/${registry.projects.clusters}/cluster_agents/${registry.agents.prod}/deployable_by`;
    const [viaLookup] = await lookup("ip=52.1.2.3", registry.developerToken);
    const direct = await system.api("GET", path, undefined, registry.developerToken);
    expect(direct).toMatchObject({ status: 200, body: viaLookup?.deployable_by });
    const forAdmin = await system.api("GET", path);
    expect((forAdmin.body as unknown as LookupEntry["deployable_by"]).projects).toHaveLength(3);
    expect(await system.api("GET", path, undefined, registry.outsiderToken)).toMatchObject({
      status: 404,
      body: { message: "404 Project Not Found" },
    });
    // An agent of another project is not found through this one (GitLab's agent finder is per project).
    const elsewhere = `/projects/${registry.projects.clusters}/cluster_agents/${registry.agents.secret}/deployable_by`;
    expect((await system.api("GET", elsewhere)).status).toBe(404);
  });

  it("finds pod and service ranges holding an IP, IPv6 included", async () => {
    const pod = await lookup("ip=10.245.7.7", registry.developerToken);
    expect(agentNames(pod)).toEqual(["edge-agent"]);
    expect(pod[0]?.matches).toEqual([{ field: "pod_cidrs", address: "10.245.0.0/16" }]);
    const v6 = await lookup(`ip=${encodeURIComponent("fd00:1::5")}`, registry.developerToken);
    expect(v6[0]?.matches).toEqual([{ field: "node_ips.internal", address: "fd00:1::5" }]);
  });

  it("finds agents whose addresses overlap a CIDR, in both directions", async () => {
    const wide = await lookup(`cidr=${encodeURIComponent("10.0.0.0/8")}`, registry.developerToken);
    // Ordered by configuration project path: acme/platform/clusters before acme/platform/edge/….
    expect(agentNames(wide)).toEqual(["prod-agent", "edge-agent"]);
    const narrow = await lookup(`cidr=${encodeURIComponent("10.244.128.0/17")}`, registry.developerToken);
    expect(agentNames(narrow)).toEqual(["prod-agent"]);
    // The range overlaps the pod CIDR; the agent pod IP 10.244.1.17 lies outside it.
    expect(narrow[0]?.matches).toEqual([{ field: "pod_cidrs", address: "10.244.0.0/16" }]);
  });

  it("answers 400 for a malformed or missing ip/cidr", async () => {
    for (const [query, error] of [
      ["ip=52.1.2", "ip is invalid"],
      ["ip=52.1.2.3/32", "ip is invalid"],
      ["cidr=10.0.0.0/33", "cidr is invalid"],
      ["", "ip, cidr are missing, exactly one parameter must be provided"],
      ["ip=1.2.3.4&cidr=1.2.3.0/24", "ip, cidr are missing, exactly one parameter must be provided"],
    ]) {
      const response = await system.api(
        "GET",
        `/clusters/lookup?${query}`,
        undefined,
        registry.developerToken,
      );
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ error: error });
    }
    expect((await system.api("GET", "/clusters/lookup?ip=1.2.3.4", undefined, null)).status).toBe(401);
  });

  it("follows a snapshot change: the old address no longer finds the agent, the new one does", async () => {
    await publishSnapshot(
      system,
      registry.agents.prod,
      facts({ node_ips: { external: ["52.9.9.9"], internal: ["10.0.1.1"] } }),
    );
    const moved = await eventually(async () => {
      const found = await lookup("ip=52.9.9.9", registry.developerToken);
      return found.length > 0 ? found : undefined;
    }, "the new external IP to be indexed");
    expect(agentNames(moved)).toEqual(["prod-agent"]);
    expect(await lookup("ip=52.1.2.3", registry.developerToken)).toEqual([]);
    await publishSnapshot(system, registry.agents.prod, facts());
    await eventually(
      async () => ((await lookup("ip=52.1.2.3", registry.developerToken)).length === 1 ? true : undefined),
      "restored",
    );
  });
});

describe("verify", () => {
  const verify = (agentId: number, body: unknown, token = registry.developerToken) =>
    system.api(
      "POST",
      `/projects/${registry.projects.clusters}/cluster_agents/${agentId}/cluster_info/verify`,
      body,
      token,
    );

  it("answers ok when every address lies in the expected ranges", async () => {
    const response = await verify(registry.agents.prod, {
      node_ips: ["10.0.0.0/16", "52.0.0.0/8"],
      api_endpoint_ip: ["10.0.0.0/24"],
      pod_cidrs: ["10.244.0.0/16"],
      cluster_name: "prod",
    });
    expect(response.status).toBe(200);
    expect(response.body?.ok).toBe(true);
  });

  it("answers ok: false with the failing checks on a mismatch", async () => {
    const response = await verify(registry.agents.prod, { node_ips: ["10.0.0.0/16"], platform: "gke" });
    expect(response.status).toBe(200);
    expect(response.body?.ok).toBe(false);
    const checks = (response.body?.checks ?? []) as Array<{ field: string; value: string; ok: boolean }>;
    const failed = checks.filter((c) => !c.ok);
    expect(failed.map((c) => [c.field, c.value])).toEqual([
      ["node_ips.external", "52.1.2.3"],
      ["platform", "eks"],
    ]);
  });

  it("answers ok: false with the reason for a cluster that has not reported", async () => {
    const response = await verify(registry.agents.pending, { node_ips: ["10.0.0.0/8"] });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      ok: false,
      expected: { node_ips: ["10.0.0.0/8"] },
      checks: [
        {
          field: "node_ips",
          expectation: "node_ips",
          value: null,
          ok: false,
          reason: "the cluster has not reported yet (no snapshot from its collector)",
        },
      ],
    });
  });

  it("answers 400 for unknown keys, bad ranges or no expectation; 404 to a caller without Developer", async () => {
    expect((await verify(registry.agents.prod, { node_ip: ["10.0.0.0/8"] })).body).toEqual({
      error: "node_ip is not a known expectation, at least one expectation is required",
    });
    expect((await verify(registry.agents.prod, { pod_cidrs: ["10.0.0.0/40"] })).body).toEqual({
      error: "pod_cidrs: 10.0.0.0/40 is not an IP address or CIDR",
    });
    expect((await verify(registry.agents.prod, {})).status).toBe(400);
    const hidden = await verify(registry.agents.prod, { node_ips: ["10.0.0.0/8"] }, registry.outsiderToken);
    expect(hidden.status).toBe(404);
    expect(hidden.body).toEqual({ message: "404 Project Not Found" });
  });
});

describe("group inventory", () => {
  type Listed = Array<{
    name: string;
    config_project: { path_with_namespace: string };
    cluster_info?: { cluster_name: string } | null;
  }>;

  it("lists the group's agents, or the whole subtree, by project path then name, paginated", async () => {
    const direct = await system.api(
      "GET",
      "/groups/acme%2Fplatform/cluster_agents",
      undefined,
      registry.developerToken,
    );
    expect(direct.status).toBe(200);
    expect((direct.body as unknown as Listed).map((a) => a.name)).toEqual(["pending-agent", "prod-agent"]);
    const tree = await system.api(
      "GET",
      "/groups/acme/cluster_agents?include_subgroups=true&with_cluster_info=true&per_page=2",
      undefined,
      registry.developerToken,
    );
    expect(tree.headers.get("x-total")).toBe("3");
    expect(tree.headers.get("x-next-page")).toBe("2");
    const page1 = tree.body as unknown as Listed;
    expect(
      page1.map((a) => [a.config_project.path_with_namespace, a.name, a.cluster_info?.cluster_name ?? null]),
    ).toEqual([
      ["acme/platform/clusters", "pending-agent", null],
      ["acme/platform/clusters", "prod-agent", "prod"],
    ]);
    const admin = await system.api("GET", "/groups/zeta/cluster_agents?include_subgroups=true");
    expect((admin.body as unknown as Listed).map((a) => a.name)).toEqual(["secret-agent"]);
    const hidden = await system.api("GET", "/groups/zeta/cluster_agents", undefined, registry.developerToken);
    expect(hidden.status).toBe(404);
  });

  it("exports the subtree as CSV, escaped", async () => {
    const asked: Array<{ query: string; headers: Record<string, string> }> = [
      { query: "&format=csv", headers: {} },
      { query: "", headers: { accept: "text/csv" } },
    ];
    for (const init of asked) {
      const response = await gatewayClient(system.gatewayUrl).fetch(
        `/api/v4/groups/acme/cluster_agents?include_subgroups=true${init.query}`,
        { token: registry.developerToken, headers: init.headers },
      );
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^text\/csv/);
      const lines = (await response.text()).split("\r\n");
      expect(lines[0]).toBe(
        "project_path,agent_id,agent_name,cluster_name,cluster_context,api_endpoint,api_endpoint_ip,platform,region,node_count,internal_ip_count,external_ip_count,pod_cidrs,service_cidrs,deployment_status,last_connection",
      );
      expect(lines.slice(1)).toEqual([
        `acme/platform/clusters,${registry.agents.pending},pending-agent,,,,,,,,,,,,never_connected,`,
        `acme/platform/clusters,${registry.agents.prod},prod-agent,prod,prod-ctx,https://10.0.0.1:6443,10.0.0.1,eks,eu-west-1,2,2,1,10.244.0.0/16,10.96.0.0/12,never_connected,`,
        `acme/platform/edge/edge-infra,${registry.agents.edge},edge-agent,"edge, ""west""",prod-ctx,https://10.1.0.1:6443,10.1.0.1,k3s,,1,2,0,10.245.0.0/16 fd00:10:245::/56,10.96.0.0/12,never_connected,`,
        "",
      ]);
    }
  });
});
