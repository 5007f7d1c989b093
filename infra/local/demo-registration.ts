import { z } from "zod";

/**
 * Registers the demo group, project and agent through the gateway's GitLab-compatible REST API
 * (exactly what a user's script would do), and mints a fresh agent token for the collector.
 * Idempotent across restarts: existing objects are reused; the oldest token is revoked when two
 * are active already (GitLab allows two).
 */
export async function registerDemoAgent(
  gatewayUrl: string,
  adminToken: string,
): Promise<{ agentToken: string; projectPath: string; agentId: number }> {
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${gatewayUrl}/api/v4${path}`, {
      method,
      headers: {
        "PRIVATE-TOKEN": adminToken,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, json: text ? (JSON.parse(text) as unknown) : null };
  };
  const IdBody = z.object({ id: z.number() });

  // The admin token is usable once the projection has applied its bootstrap event.
  let group = await api("GET", "/groups/demo");
  for (let i = 0; group.status === 401 && i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100));
    group = await api("GET", "/groups/demo");
  }
  if (group.status === 401) throw new Error("the admin token was not accepted by the gateway");
  if (group.status === 404) group = await api("POST", "/groups", { name: "Demo", path: "demo" });
  const groupId = IdBody.parse(group.json).id;

  let project = await api("GET", `/projects/${encodeURIComponent("demo/infrastructure")}`);
  if (project.status === 404) {
    project = await api("POST", "/projects", {
      name: "Infrastructure",
      path: "infrastructure",
      namespace_id: groupId,
    });
  }
  const projectId = IdBody.parse(project.json).id;

  const agents = z
    .array(z.object({ id: z.number(), name: z.string() }))
    .parse((await api("GET", `/projects/${projectId}/cluster_agents`)).json);
  const agentId =
    agents.find((a) => a.name === "demo-agent")?.id ??
    IdBody.parse((await api("POST", `/projects/${projectId}/cluster_agents`, { name: "demo-agent" })).json)
      .id;

  await api("PUT", `/projects/${projectId}/cluster_agents/${agentId}/configuration`, {
    content: "ci_access:\n  groups:\n    - id: demo\n",
  });

  const tokens = z
    .array(z.object({ id: z.number(), created_at: z.string() }))
    .parse((await api("GET", `/projects/${projectId}/cluster_agents/${agentId}/tokens`)).json);
  if (tokens.length >= 2) {
    const oldest = [...tokens].sort((a, b) => a.created_at.localeCompare(b.created_at))[0];
    if (oldest) await api("DELETE", `/projects/${projectId}/cluster_agents/${agentId}/tokens/${oldest.id}`);
  }
  const created = await api("POST", `/projects/${projectId}/cluster_agents/${agentId}/tokens`, {
    name: `demo-${new Date().toISOString().slice(0, 19)}`,
    description: "minted by npm start for the demo collector",
  });
  const agentToken = z.object({ token: z.string() }).parse(created.json).token;
  return { agentToken, projectPath: "demo/infrastructure", agentId };
}
