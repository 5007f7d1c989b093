import { openSse, type SseConnection } from "@kasmap/testing";
import { eventually } from "@kasmap/testing/harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { facts, publishSnapshot } from "./incident-response-fixture.ts";
import { kasmapSystemForFile } from "./system-for-file.ts";

/**
 * The audit log, history and live events through the public API, with the real authz,
 * projection and gateway: agents and tokens made over REST, snapshots published as a
 * collector would.
 */
const system = kasmapSystemForFile();
let ids: { project: number; otherProject: number; agent: number; otherAgent: number };
let tokens: { developer: string; maintainer: string; outsider: string };
let collectorToken: number;

/** GitLab's REST entity: the target is inside `details`. */
type AuditEvent = {
  id: number;
  event_name: string;
  entity_id: number;
  details: Record<string, unknown> & { target_id: number; target_type: string };
};

async function created(path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await system.api("POST", path, body);
  if (response.status !== 201 || response.body === null) throw new Error(`POST ${path}: ${response.status}`);
  return response.body;
}

async function userToken(username: string): Promise<{ id: number; token: string }> {
  const user = (await created("/users", { username, name: username })).id as number;
  const pat = await created(`/users/${user}/personal_access_tokens`, { name: "e2e", scopes: ["api"] });
  return { id: user, token: String(pat.token) };
}

async function auditEvents(query: string, token?: string): Promise<AuditEvent[]> {
  const response = await system.api(
    "GET",
    `/projects/${ids.project}/audit_events?${query}`,
    undefined,
    token,
  );
  expect(response.status).toBe(200);
  return response.body as unknown as AuditEvent[];
}

beforeAll(async () => {
  const group = (await created("/groups", { name: "Audit", path: "audit" })).id as number;
  const project = (await created("/projects", { name: "infra", path: "infra", namespace_id: group }))
    .id as number;
  const otherProject = (await created("/projects", { name: "hidden", path: "hidden", namespace_id: group }))
    .id as number;
  const agent = (await created(`/projects/${project}/cluster_agents`, { name: "prod" })).id as number;
  const otherAgent = (await created(`/projects/${otherProject}/cluster_agents`, { name: "hidden" }))
    .id as number;
  // The collectors publishSnapshot plays hold these (the projection applies a collector's
  // events only while its agent has an active token, issue 7.6).
  collectorToken = (
    await created(`/projects/${project}/cluster_agents/${agent}/tokens`, { name: "collector" })
  ).id as number;
  await created(`/projects/${otherProject}/cluster_agents/${otherAgent}/tokens`, { name: "collector" });
  ids = { project, otherProject, agent, otherAgent };
  const [developer, maintainer, outsider] = [
    await userToken("dev"),
    await userToken("ops"),
    await userToken("out"),
  ];
  await created(`/projects/${project}/members`, { user_id: developer.id, access_level: 30 });
  await created(`/projects/${project}/members`, { user_id: maintainer.id, access_level: 40 });
  tokens = { developer: developer.token, maintainer: maintainer.token, outsider: outsider.token };
});

describe("audit events", () => {
  it("lists agent and token changes under GitLab's names, newest first", async () => {
    const tokenPath = `/projects/${ids.project}/cluster_agents/${ids.agent}/tokens`;
    const token = (await created(tokenPath, { name: "deploy" })).id as number;
    expect((await system.api("DELETE", `${tokenPath}/${token}`)).status).toBe(204);
    const gitlabNamed = await eventually(async () => {
      const events = (await auditEvents(`agent_id=${ids.agent}`, tokens.maintainer)).filter(
        (e) =>
          e.event_name.match(/^cluster_agent_(created|deleted|token_created|token_revoked)$/) &&
          !(e.event_name === "cluster_agent_token_created" && e.details.token_id === collectorToken),
      );
      return events.length === 3 ? events : undefined;
    }, "three GitLab-named audit events");
    expect(gitlabNamed.map((e) => e.event_name)).toEqual([
      "cluster_agent_token_revoked",
      "cluster_agent_token_created",
      "cluster_agent_created",
    ]);
    // As GitLab: token events target the agent and name the token.
    expect(gitlabNamed.map((e) => e.details.target_id)).toEqual([ids.agent, ids.agent, ids.agent]);
    expect(gitlabNamed.map((e) => e.details.token_id)).toEqual([token, token, undefined]);
    expect(gitlabNamed[0]?.details.custom_message).toBe(
      `Revoked cluster agent token 'deploy' with id ${token}`,
    );
    expect(gitlabNamed.every((e) => e.entity_id === ids.project)).toBe(true);
    expect(JSON.stringify(gitlabNamed)).not.toMatch(/token_sha256|glagent-/);
  });

  it("records a refused creation as GitLab's cluster_agent_create_failed, with the client's address", async () => {
    const refused = await system.api(
      "POST",
      `/projects/${ids.project}/cluster_agents`,
      { name: "Not_Valid" },
      tokens.maintainer,
    );
    expect(refused.status).toBe(400);
    const [failed] = await eventually(async () => {
      const events = await auditEvents("event_type=cluster_agent_create_failed", tokens.maintainer);
      return events.length === 1 ? events : undefined;
    }, "the refused creation audited");
    expect(failed).toMatchObject({
      event_name: "cluster_agent_create_failed",
      entity_id: ids.project,
      entity_type: "Project",
      details: {
        target_id: ids.project,
        target_type: "Project",
        target_details: "infra",
        entity_path: "audit/infra",
        author_name: "ops",
        custom_message:
          "Attempted to create cluster agent 'Not_Valid' but failed with message: [\"Name can contain only lowercase letters, digits, and '-', but cannot start or end with '-'\"]",
      },
    });
    expect(String(failed?.details.ip_address)).toMatch(/^(127\.0\.0\.1|::1)$/);
    // A Developer's attempt is a 403 before any service runs, as in GitLab: nothing recorded.
    const forbidden = await system.api(
      "POST",
      `/projects/${ids.project}/cluster_agents`,
      { name: "Not_Valid" },
      tokens.developer,
    );
    expect(forbidden.status).toBe(403);
    // Successful changes carry the address too (GitLab's `details.ip_address`).
    const created = await auditEvents("event_type=cluster_agent_created", tokens.maintainer);
    expect(created.length).toBeGreaterThan(0);
    expect(created.every((e) => /^(127\.0\.0\.1|::1)$/.test(String(e.details.ip_address)))).toBe(true);
  });

  it("records a cluster change with the infrastructure before and after, once per snapshot", async () => {
    await publishSnapshot(system, ids.agent, facts({ observed_at: "2026-03-01T00:00:00.000Z" }));
    const moved = facts({ api_endpoint: "https://10.7.0.1:6443", observed_at: "2026-03-02T00:00:00.000Z" });
    await publishSnapshot(system, ids.agent, moved);
    // The same snapshot again (a collector re-sending after a restart) adds nothing.
    await publishSnapshot(system, ids.agent, moved);
    // All three applied (the history keeps every snapshot), and still only two changes.
    await eventually(async () => {
      const history = await system.api(
        "GET",
        `/projects/${ids.project}/cluster_agents/${ids.agent}/cluster_info/history`,
      );
      return (history.body as unknown as unknown[]).length === 3 ? true : undefined;
    }, "three snapshots in the history");
    const changes = await auditEvents("event_type=cluster_agent_cluster_info_changed");
    expect(changes).toHaveLength(2);
    expect(changes[0]?.details).toMatchObject({
      changed_fields: ["api_endpoint"],
      before: { api_endpoint: "https://10.0.0.1:6443" },
      after: { api_endpoint: "https://10.7.0.1:6443" },
    });
    expect(changes[1]?.details).toMatchObject({ before: null, after: { cluster_name: "prod" } });
  });

  it("shows a Developer only their own events, 404 to a non-member, and the instance log to admins only", async () => {
    const path = `/projects/${ids.project}/audit_events`;
    // The developer authored none of the project's events (agents and tokens need Maintainer).
    const own = await system.api("GET", path, undefined, tokens.developer);
    expect([own.status, own.body, own.headers.get("x-total")]).toEqual([200, [], "0"]);
    expect((await system.api("GET", path, undefined, tokens.outsider)).status).toBe(404);
    expect((await system.api("GET", "/audit_events", undefined, tokens.maintainer)).status).toBe(403);
    const all = await system.api(
      "GET",
      `/audit_events?entity_type=Project&entity_id=${ids.project}&per_page=2`,
    );
    expect(all.status).toBe(200);
    expect(all.headers.get("x-per-page")).toBe("2");
    expect(Number(all.headers.get("x-total"))).toBeGreaterThanOrEqual(5);
    const groups = await system.api("GET", "/audit_events?entity_type=Group");
    expect([groups.status, groups.body]).toEqual([200, []]);
  });
});

describe("keyset pages and single events", () => {
  it("walks the project's events by GitLab's keyset cursor, newest id first, without totals", async () => {
    const all = (await auditEvents("per_page=100", tokens.maintainer)).map((e) => e.id);
    expect(all.length).toBeGreaterThan(2);
    const walked: number[] = [];
    let next: string | null =
      `/projects/${ids.project}/audit_events?pagination=keyset&order_by=id&sort=desc&per_page=2`;
    while (next !== null) {
      const page = await system.api("GET", next, undefined, tokens.maintainer);
      expect(page.status).toBe(200);
      expect(page.headers.get("x-total")).toBeNull();
      walked.push(...(page.body as unknown as AuditEvent[]).map((e) => e.id));
      const link = page.headers.get("link");
      next = link === null ? null : new URL(/^<([^>]+)>; rel="next"$/.exec(link)?.[1] ?? "").href;
      if (next !== null) next = next.slice(next.indexOf("/projects/"));
    }
    expect(walked).toEqual([...all].sort((a, b) => b - a));
  });

  it("answers one event of the project, and another project's exactly as a missing one", async () => {
    const [newest] = await auditEvents("per_page=1", tokens.maintainer);
    const one = await system.api(
      "GET",
      `/projects/${ids.project}/audit_events/${newest?.id}`,
      undefined,
      tokens.maintainer,
    );
    expect([one.status, one.body]).toEqual([200, newest]);
    const hiddenEvents = await system.api("GET", `/projects/${ids.otherProject}/audit_events?per_page=1`);
    const hiddenId = (hiddenEvents.body as unknown as AuditEvent[])[0]?.id;
    expect(hiddenId).toBeDefined();
    const path = (id: number | undefined) => `/projects/${ids.project}/audit_events/${id}`;
    const other = await system.api("GET", path(hiddenId), undefined, tokens.maintainer);
    const missing = await system.api("GET", path(999_999_999), undefined, tokens.maintainer);
    expect([other.status, other.body]).toEqual([404, { message: "404 Not found" }]);
    expect([missing.status, missing.body]).toEqual([other.status, other.body]);
    const instance = await system.api("GET", `/audit_events/${hiddenId}`);
    expect((instance.body as unknown as AuditEvent).entity_id).toBe(ids.otherProject);
  });
});

describe("history at a point in time", () => {
  it("returns the cluster info current then, and null before the first snapshot", async () => {
    const base = `/projects/${ids.project}/cluster_agents/${ids.agent}/cluster_info`;
    const then = await system.api("GET", `${base}?at=2026-03-01T12:00:00Z`, undefined, tokens.developer);
    expect(then.body).toMatchObject({ api_endpoint: "https://10.0.0.1:6443" });
    expect(then.body).not.toHaveProperty("deployment_status");
    const later = await system.api("GET", `${base}?at=2026-03-02T00:00:00Z`);
    expect(later.body).toMatchObject({ api_endpoint: "https://10.7.0.1:6443" });
    const before = await system.api("GET", `${base}?at=2026-02-01T00:00:00Z`);
    expect(before.status).toBe(200);
    expect(before.body).toBeNull();
  });
});

describe("the live event stream", () => {
  let connection: SseConnection | undefined;
  afterAll(() => connection?.close());

  it("delivers a visible agent's snapshot, nothing of an invisible one, and resumes after Last-Event-ID", async () => {
    connection = await openSse(`${system.gatewayUrl}/api/v4/events/stream`, tokens.developer);
    // Published first on the same stream: had it been delivered, it would arrive first.
    await publishSnapshot(system, ids.otherAgent, facts({ cluster_name: "hidden" }));
    await publishSnapshot(system, ids.agent, facts({ cluster_name: "visible-1" }));
    const first = await connection.next((f) => f.event === "io.kasmap.cluster.snapshot.v1");
    expect(first.data).toMatchObject({
      data: { agent_id: ids.agent, cluster: { cluster_name: "visible-1" } },
    });
    const agentOf = (f: { data: unknown }) => (f.data as { data?: { agent_id?: number } }).data?.agent_id;
    expect(connection.received.filter((f) => agentOf(f) === ids.otherAgent)).toEqual([]);
    connection.close();

    await publishSnapshot(system, ids.agent, facts({ cluster_name: "visible-2" }));
    connection = await openSse(
      `${system.gatewayUrl}/api/v4/events/stream?agent_id=${ids.agent}`,
      tokens.developer,
      first.id,
    );
    const resumed = await connection.next((f) => f.event === "io.kasmap.cluster.snapshot.v1");
    expect(resumed.data).toMatchObject({ data: { cluster: { cluster_name: "visible-2" } } });
    const [stream, seq] = first.id.split(":");
    expect(resumed.id).toBe(`${stream}:${Number(seq) + 1}`);

    // A disconnect ends the connection's consumers: only the projection's (named after it) remain.
    connection.close();
    await eventually(async () => {
      const consumers = await system.bus.jsm.consumers.list(system.topology.streamNames.cluster).next();
      const projections = consumers.filter((c) => c.name.startsWith("projection-"));
      return consumers.length === projections.length ? true : undefined;
    }, "the stream's ephemeral consumers removed");
  });
});
