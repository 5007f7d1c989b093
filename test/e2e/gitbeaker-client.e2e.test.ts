import { Gitlab } from "@gitbeaker/rest";
import { beforeAll, describe, expect, it } from "vitest";
import { kasmapSystemForFile } from "./system-for-file.ts";

/**
 * A GitLab client library, unchanged, against Kasmap: if @gitbeaker/rest can register agents,
 * mint tokens and page through agents, scripts written for GitLab keep working.
 */
const system = kasmapSystemForFile();
let gitlab: InstanceType<typeof Gitlab>;

beforeAll(async () => {
  gitlab = new Gitlab({ host: system.gatewayUrl, token: system.adminToken });
});

describe("@gitbeaker/rest against the gateway", () => {
  it("creates a group and project, registers agents, and pages through them in name order", async () => {
    const group = await gitlab.Groups.create("Payments", "payments");
    const project = await gitlab.Projects.create({ name: "Deploy", namespaceId: group.id });
    expect(project.id).toBeGreaterThan(0);

    const names = Array.from({ length: 23 }, (_, i) => `agent-${String(i).padStart(2, "0")}`).reverse();
    for (const name of names) await gitlab.Agents.register(project.id, name);

    // `all` follows GitLab's pagination headers across pages (20 per page by default).
    const agents = await gitlab.Agents.all(project.id);
    expect(agents).toHaveLength(23);
    expect(agents.map((a) => a.name)).toEqual([...names].sort());
    const firstAgent = agents[0] as { config_project: { path_with_namespace: string } } | undefined;
    expect(firstAgent?.config_project.path_with_namespace).toBe("payments/deploy");

    // gitbeaker accepts offset-pagination options at run time; its types for Agents omit them.
    const options = { perPage: 5, page: 2, showExpanded: true } as { showExpanded: true };
    const byPath = (await gitlab.Agents.all("payments/deploy", options)) as unknown as {
      data: Array<{ name: string }>;
      paginationInfo: Record<string, number | null>;
    };
    expect(byPath.data.map((a) => a.name)).toEqual([
      "agent-05",
      "agent-06",
      "agent-07",
      "agent-08",
      "agent-09",
    ]);
    expect(byPath.paginationInfo).toMatchObject({
      total: 23,
      totalPages: 5,
      current: 2,
      next: 3,
      previous: 1,
      perPage: 5,
    });
  });

  it("mints agent tokens shown once, lists them without secrets, revokes them, and enforces two active", async () => {
    const group = await gitlab.Groups.create("Tokens", "tokens");
    const project = await gitlab.Projects.create({ name: "Infra", namespaceId: group.id });
    const agent = await gitlab.Agents.register(project.id, "prod");
    // @gitbeaker/rest 43.8's `Agents.createToken` sends GET instead of POST (a bug of the
    // client: it lists tokens against GitLab too), so tokens are minted with a plain POST.
    const mint = (name: string, description?: string) =>
      system.api("POST", `/projects/${project.id}/cluster_agents/${agent.id}/tokens`, { name, description });
    const first = await mint("one", "first");
    expect(first.status).toBe(201);
    expect(String(first.body?.token)).toMatch(/^glagent-/);
    const second = await mint("two");
    const third = await mint("three");
    expect(third.status).toBe(400);
    expect(third.body).toEqual({
      message: "400 Bad request - An agent can have only two active tokens at a time",
    });

    const listed = await gitlab.Agents.allTokens(project.id, agent.id);
    expect(listed.map((t) => t.name).sort()).toEqual(["one", "two"]);
    expect(listed.every((t) => t.token === undefined)).toBe(true);

    const firstId = Number(first.body?.id);
    const secondId = Number(second.body?.id);
    await gitlab.Agents.removeToken(project.id, agent.id, secondId);
    const shown = await gitlab.Agents.showToken(project.id, agent.id, firstId);
    expect(shown).toMatchObject({ id: firstId, name: "one", description: "first", status: "active" });
    await expect(gitlab.Agents.showToken(project.id, agent.id, secondId)).rejects.toMatchObject({
      cause: { response: { status: 404 } },
    });

    await gitlab.Agents.unregister(project.id, agent.id);
    await expect(gitlab.Agents.show(project.id, agent.id)).rejects.toMatchObject({
      cause: { response: { status: 404 } },
    });
  });

  it("is refused with GitLab's 401 for a wrong token", async () => {
    const stranger = new Gitlab({ host: system.gatewayUrl, token: "glpat-wrong" });
    await expect(stranger.Agents.all(1)).rejects.toMatchObject({ cause: { response: { status: 401 } } });
  });
});
