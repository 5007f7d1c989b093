import { publishEvent } from "@kasmap/bus";
import { clusterFactsContentHash } from "@kasmap/cluster-info";
import { type ClusterFacts, EVENT_TYPES, newKasmapEvent } from "@kasmap/contracts";
import type { KasmapSystem } from "@kasmap/testing/system";

/**
 * A registry built through the REST API, as users would, for the incident-response tests:
 *
 * ```
 * acme/                      developer (30) on acme/platform only
 *   web                      ci_access target of prod-agent
 *   platform/clusters        prod-agent, pending-agent (never reports)
 *   platform/edge/edge-infra edge-agent
 * zeta/secret                secret-agent (shares 52.1.2.3 with prod-agent; the developer can't see it)
 * ```
 */
export type IncidentRegistry = {
  developerToken: string;
  outsiderToken: string;
  agents: { prod: number; pending: number; edge: number; secret: number };
  projects: { clusters: number; web: number; edgeInfra: number; secret: number };
};

type Api = KasmapSystem["api"];

async function created(api: Api, path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await api("POST", path, body);
  if (response.status !== 201 || response.body === null) {
    throw new Error(`POST ${path} answered ${response.status}: ${JSON.stringify(response.body)}`);
  }
  return response.body;
}

const idOf = (body: Record<string, unknown>): number => body.id as number;

async function userWithToken(api: Api, username: string): Promise<{ id: number; token: string }> {
  const user = idOf(await created(api, "/users", { username, name: username }));
  const pat = await created(api, `/users/${user}/personal_access_tokens`, { name: "e2e", scopes: ["api"] });
  return { id: user, token: String(pat.token) };
}

export async function buildIncidentRegistry(system: KasmapSystem): Promise<IncidentRegistry> {
  const api = system.api;
  const acme = idOf(await created(api, "/groups", { name: "Acme", path: "acme" }));
  const platform = idOf(
    await created(api, "/groups", { name: "Platform", path: "platform", parent_id: acme }),
  );
  const edge = idOf(await created(api, "/groups", { name: "Edge", path: "edge", parent_id: platform }));
  const zeta = idOf(await created(api, "/groups", { name: "Zeta", path: "zeta" }));
  const project = async (name: string, namespace: number) =>
    idOf(await created(api, "/projects", { name, path: name, namespace_id: namespace }));
  const projects = {
    web: await project("web", acme),
    clusters: await project("clusters", platform),
    edgeInfra: await project("edge-infra", edge),
    secret: await project("secret", zeta),
  };
  // Each agent gets a token: the projection applies a collector's events only while its agent
  // has an active one (issue 7.6), and publishSnapshot plays that collector.
  const agent = async (projectId: number, name: string) => {
    const id = idOf(await created(api, `/projects/${projectId}/cluster_agents`, { name }));
    await created(api, `/projects/${projectId}/cluster_agents/${id}/tokens`, { name: "collector" });
    return id;
  };
  const agents = {
    prod: await agent(projects.clusters, "prod-agent"),
    pending: await agent(projects.clusters, "pending-agent"),
    edge: await agent(projects.edgeInfra, "edge-agent"),
    secret: await agent(projects.secret, "secret-agent"),
  };
  const config = "ci_access:\n  projects:\n    - id: acme/web\n  groups:\n    - id: acme/platform/edge\n";
  const configured = await api(
    "PUT",
    `/projects/${projects.clusters}/cluster_agents/${agents.prod}/configuration`,
    {
      content: config,
    },
  );
  if (configured.status !== 200) throw new Error(`configuration: ${configured.status}`);
  const developer = await userWithToken(api, "dev");
  const outsider = await userWithToken(api, "outsider");
  await created(api, `/groups/${platform}/members`, { user_id: developer.id, access_level: 30 });
  return { developerToken: developer.token, outsiderToken: outsider.token, agents, projects };
}

/** Publishes a snapshot as the agent's collector would (the projection applies it). */
export async function publishSnapshot(
  system: KasmapSystem,
  agentId: number,
  facts: ClusterFacts,
): Promise<void> {
  await publishEvent(
    system.bus,
    newKasmapEvent({
      type: EVENT_TYPES.clusterSnapshot,
      source: "/kasmap/e2e",
      subject: system.topology.subjects.clusterSnapshot(agentId),
      data: { agent_id: agentId, content_hash: clusterFactsContentHash(facts), cluster: facts },
    }),
  );
}

export function facts(overrides: Partial<ClusterFacts> = {}): ClusterFacts {
  return {
    api_endpoint: "https://10.0.0.1:6443",
    api_endpoint_ip: "10.0.0.1",
    cluster_name: "prod",
    cluster_context: "prod-ctx",
    node_ips: { external: ["52.1.2.3"], internal: ["10.0.1.1", "10.0.1.2"] },
    pod_cidr: "10.244.0.0/16",
    service_cidr: "10.96.0.0/12",
    pod_cidrs: ["10.244.0.0/16"],
    service_cidrs: ["10.96.0.0/12"],
    agent_pod_ip: "10.244.1.17",
    agent_namespace: "gitlab-agent",
    kubernetes_version: null,
    platform: "eks",
    region: "eu-west-1",
    zones: [],
    node_count: 2,
    observed_at: new Date().toISOString(),
    sources: { kubernetes_version: { kind: "missing", reason: "forbidden" } },
    ...overrides,
  };
}

/** The three reporting clusters: prod and secret share an external IP; edge is elsewhere. */
export async function publishInitialSnapshots(
  system: KasmapSystem,
  registry: IncidentRegistry,
): Promise<void> {
  await publishSnapshot(system, registry.agents.prod, facts());
  await publishSnapshot(
    system,
    registry.agents.edge,
    facts({
      cluster_name: 'edge, "west"',
      api_endpoint: "https://10.1.0.1:6443",
      api_endpoint_ip: "10.1.0.1",
      node_ips: { external: [], internal: ["10.1.0.5", "fd00:1::5"] },
      pod_cidr: "10.245.0.0/16",
      pod_cidrs: ["10.245.0.0/16", "fd00:10:245::/56"],
      platform: "k3s",
      region: null,
      node_count: 1,
    }),
  );
  await publishSnapshot(
    system,
    registry.agents.secret,
    facts({ cluster_name: "secret", node_ips: { external: ["52.1.2.3"], internal: ["172.16.0.9"] } }),
  );
}
