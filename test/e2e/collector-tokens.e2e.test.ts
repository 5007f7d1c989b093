import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import type { KubeSimulator } from "@kasmap/kube-simulator";
import { eventually } from "@kasmap/testing/harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnCollectorProgram, startDemoKubeCluster, stopCollectorsThenClose } from "./collector-program.ts";
import { createUserWithToken, expectStatus } from "./principal-world.ts";
import { kasmapSystemForFile } from "./system-for-file.ts";

/**
 * Collector tokens (issue 9 item 5) through the gateway: a Maintainer mints `kmcol-` tokens for
 * an agent, lists and revokes them; a real collector program runs with one in
 * `KASMAP_AGENT_TOKEN` against a simulated cluster, and its snapshot becomes the agent's
 * `cluster_info` — the agent has no agent token at all, as a GitLab agent mirrored by Kasmap.
 */
const system = kasmapSystemForFile();
let simulator: KubeSimulator;
let kubeconfig: string;
const collectors: ChildProcess[] = [];
let ids: { project: number; agent: number; otherAgent: number };
let tokens: { maintainer: string; developer: string; outsider: string };
let agentPath: string;

beforeAll(async () => {
  ({ simulator, kubeconfig } = await startDemoKubeCluster());

  const group = await expectStatus(system, 201, "POST", "/groups", { name: "Ops", path: "ops" });
  const project = await expectStatus(system, 201, "POST", "/projects", {
    name: "clusters",
    path: "clusters",
    namespace_id: group.id,
  });
  const projectId = Number(project.id);
  const agent = await expectStatus(system, 201, "POST", `/projects/${projectId}/cluster_agents`, {
    name: "prod",
  });
  const other = await expectStatus(system, 201, "POST", `/projects/${projectId}/cluster_agents`, {
    name: "stage",
  });
  ids = { project: projectId, agent: Number(agent.id), otherAgent: Number(other.id) };
  agentPath = `/projects/${projectId}/cluster_agents/${ids.agent}`;

  const maintainer = await createUserWithToken(system, "maintainer");
  const developer = await createUserWithToken(system, "developer");
  const outsider = await createUserWithToken(system, "outsider");
  for (const [user, level] of [
    [maintainer, 40],
    [developer, 30],
  ] as const) {
    await expectStatus(system, 201, "POST", `/projects/${projectId}/members`, {
      user_id: user.id,
      access_level: level,
    });
  }
  tokens = { maintainer: maintainer.token, developer: developer.token, outsider: outsider.token };
}, 120_000);

afterAll(() => stopCollectorsThenClose(collectors, simulator));

/** The collector program with `token`, as an operator runs it; stopped after the file. */
function startCollectorProgram(
  token: string,
  logLevel = "silent",
): { child: ChildProcess; output: () => string } {
  const program = spawnCollectorProgram({
    token,
    kubeconfig,
    topologyRoot: system.topology.root,
    pod: { ip: "10.244.1.23", namespace: "gitlab-agent" },
    logLevel,
  });
  collectors.push(program.child);
  return program;
}

const maintainerApi = (method: string, path: string, body?: unknown) =>
  system.api(method, path, body, tokens.maintainer);

describe("collector tokens", () => {
  let first: { id: number; token: string };
  let second: { id: number; token: string };

  it("lets a Maintainer mint a kmcol- token, shown once, with exactly id, name, token and created_at", async () => {
    const created = await maintainerApi("POST", `${agentPath}/collector_tokens`, { name: "prod-collector" });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body ?? {}).sort()).toEqual(["created_at", "id", "name", "token"]);
    expect(created.body?.name).toBe("prod-collector");
    expect(String(created.body?.token)).toMatch(/^kmcol-[A-Za-z0-9_-]{43}$/);
    first = { id: Number(created.body?.id), token: String(created.body?.token) };

    const listed = await maintainerApi("GET", `${agentPath}/collector_tokens`);
    expect(listed.status).toBe(200);
    expect(listed.headers.get("x-total")).toBe("1");
    expect(listed.body).toEqual([
      {
        id: first.id,
        name: "prod-collector",
        description: null,
        created_at: created.body?.created_at,
        created_by_user_id: expect.any(Number),
        last_used_at: null,
      },
    ]);
    expect(JSON.stringify(listed.body)).not.toContain("kmcol-");
    // A collector token is not one of GitLab's agent tokens.
    const agentTokens = await maintainerApi("GET", `${agentPath}/tokens`);
    expect(agentTokens.body).toEqual([]);
    const asAgentToken = await maintainerApi("GET", `${agentPath}/tokens/${first.id}`);
    expect(asAgentToken.status).toBe(404);
  });

  it("refuses a Developer (403), a non-member (404) and unknown agents or tokens (404)", async () => {
    const path = `${agentPath}/collector_tokens`;
    const developerPost = await system.api("POST", path, { name: "x" }, tokens.developer);
    expect(developerPost).toMatchObject({ status: 403, body: { message: "403 Forbidden" } });
    expect((await system.api("GET", path, undefined, tokens.developer)).status).toBe(403);
    expect((await system.api("DELETE", `${path}/${first.id}`, undefined, tokens.developer)).status).toBe(403);

    const outsiderPost = await system.api("POST", path, { name: "x" }, tokens.outsider);
    expect(outsiderPost).toMatchObject({ status: 404, body: { message: "404 Project Not Found" } });
    expect((await system.api("GET", path, undefined, tokens.outsider)).status).toBe(404);

    const unknownAgent = await maintainerApi(
      "POST",
      `/projects/${ids.project}/cluster_agents/999999/collector_tokens`,
      {
        name: "x",
      },
    );
    expect(unknownAgent.status).toBe(404);
    const unknownToken = await maintainerApi("DELETE", `${path}/999999`);
    expect(unknownToken).toMatchObject({ status: 404, body: { message: "404 CollectorToken Not Found" } });
    // One agent's token is unknown under another agent.
    const otherPath = `/projects/${ids.project}/cluster_agents/${ids.otherAgent}/collector_tokens`;
    expect((await maintainerApi("DELETE", `${otherPath}/${first.id}`)).status).toBe(404);
  });

  it("allows two active tokens per agent and answers the third with 400 and the reason", async () => {
    const created = await maintainerApi("POST", `${agentPath}/collector_tokens`, {
      name: "spare",
      description: "for the rotation",
    });
    expect(created.status).toBe(201);
    second = { id: Number(created.body?.id), token: String(created.body?.token) };
    const third = await maintainerApi("POST", `${agentPath}/collector_tokens`, { name: "third" });
    expect(third).toMatchObject({
      status: 400,
      body: { message: "400 Bad request - An agent can have only two active collector tokens at a time" },
    });
    const listed = await maintainerApi("GET", `${agentPath}/collector_tokens`);
    expect((listed.body as unknown as Array<{ name: string }>).map((t) => t.name)).toEqual([
      "prod-collector",
      "spare",
    ]);
  });

  it("runs the collector with a collector token: its snapshot becomes the agent's cluster_info", async () => {
    startCollectorProgram(first.token);
    const info = await eventually(
      async () => {
        const r = await system.api("GET", `${agentPath}?with_cluster_info=true`, undefined, tokens.developer);
        const clusterInfo = r.body?.cluster_info as { node_ips: { internal: string[] } } | null | undefined;
        return clusterInfo ?? undefined;
      },
      "cluster_info from the collector holding a collector token",
      // Generous: a loaded machine takes long to start the collector program (its TypeScript
      // is transpiled at start); a collector that cannot authenticate never gets there at all.
      90_000,
    );
    expect(info.node_ips.internal).toEqual(["192.168.49.2", "192.168.49.3", "192.168.49.4"]);
    // The token named its own agent: the other agent in the project stays without cluster_info.
    const other = await maintainerApi(
      "GET",
      `/projects/${ids.project}/cluster_agents/${ids.otherAgent}/cluster_info`,
    );
    expect(other.body).toBeNull();
    const listed = await maintainerApi("GET", `${agentPath}/collector_tokens`);
    const used = (listed.body as unknown as Array<{ id: number; last_used_at: string | null }>).find(
      (t) => t.id === first.id,
    );
    expect(used?.last_used_at).not.toBeNull();
  }, 120_000);

  it("revokes: 204 (also twice), gone from the list, audited, and a collector can no longer authenticate with it", async () => {
    expect((await maintainerApi("DELETE", `${agentPath}/collector_tokens/${second.id}`)).status).toBe(204);
    expect((await maintainerApi("DELETE", `${agentPath}/collector_tokens/${second.id}`)).status).toBe(204);
    const listed = await maintainerApi("GET", `${agentPath}/collector_tokens`);
    expect((listed.body as unknown as Array<{ id: number }>).map((t) => t.id)).toEqual([first.id]);

    const refused = startCollectorProgram(second.token, "info");
    const [code] = await once(refused.child, "exit");
    expect(code).toBe(1);
    expect(refused.output()).toContain("401 Unauthorized");
    expect(refused.output()).not.toContain(second.token);

    const audit = await system.api(
      "GET",
      `/projects/${ids.project}/audit_events?agent_id=${ids.agent}&per_page=100`,
      undefined,
      tokens.maintainer,
    );
    const events = audit.body as unknown as Array<{
      event_name: string;
      details: { target_id: number; target_type: string };
    }>;
    const ofSecond = events
      .filter((e) => e.details.target_id === second.id)
      .map((e) => [e.event_name, e.details.target_type]);
    expect(ofSecond.sort()).toEqual([
      ["cluster_agent_collector_token_created", "Kasmap::CollectorToken"],
      ["cluster_agent_collector_token_revoked", "Kasmap::CollectorToken"],
    ]);
    expect(JSON.stringify(events)).not.toContain("kmcol-");
  }, 120_000);
});
