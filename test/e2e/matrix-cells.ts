import type { RestRoute } from "@kasmap/contracts";
import { eventually } from "@kasmap/testing/harness";
import { expectStatus, type World } from "./principal-world.ts";

/**
 * What one matrix cell sends: the route's path with its parameters filled and a valid body.
 * Writes act on resources made for the cell (a fresh agent to delete, a fresh user to add), so
 * a successful write in one cell never changes what another cell sees; reads use the world's.
 */
export type Cell = {
  target: string;
  body?: unknown;
  /**
   * The cell revokes the credential it is sent with (`DELETE /personal_access_tokens/self`): the
   * matrix sends a throwaway copy of the principal's token instead (`throwawayCopy`).
   */
  consumesCredential?: true;
};

let unique = 0;
const next = (prefix: string): string => `${prefix}-${++unique}`;

const API = "/api/v4";
const AGENTS = `${API}/projects/:id/cluster_agents`;

/** Fills `:params` of `path`: the world's project or group for `:id`, its agent and token. */
export function fillPath(
  world: World,
  path: string,
  overrides: Record<string, string | number> = {},
): string {
  const defaultId = path.startsWith(`${API}/groups/`)
    ? world.group.id
    : path.startsWith(`${API}/users/`)
      ? world.userIds.outsider
      : world.project.id;
  const values: Record<string, string | number> = {
    id: defaultId,
    agent_id: world.agent.id,
    token_id: world.agentToken.id,
    ...overrides,
  };
  return path.replace(/:([a-z_]+)/g, (_match, name: string) => String(values[name] ?? `:${name}`));
}

async function freshUser(world: World): Promise<number> {
  const name = next("matrix-user");
  return Number((await expectStatus(world.system, 201, "POST", "/users", { username: name, name })).id);
}

async function freshAgent(world: World): Promise<number> {
  const agent = await expectStatus(
    world.system,
    201,
    "POST",
    `/projects/${world.project.id}/cluster_agents`,
    {
      name: next("cell-agent"),
    },
  );
  return Number(agent.id);
}

type Arrange = (world: World, route: RestRoute, destination: number) => Promise<Cell>;

const plain =
  (body?: (world: World) => unknown): Arrange =>
  async (world, route) => ({
    target: fillPath(world, route.path),
    ...(body ? { body: body(world) } : {}),
  });

/** A token-minting POST on a fresh agent (each agent holds at most two active tokens of a kind). */
const onFreshAgent: Arrange = async (world, route) => ({
  target: fillPath(world, route.path, { agent_id: await freshAgent(world) }),
  body: { name: "cell-token" },
});

/** A token (agent or collector token, by `resource`) of a fresh agent, for its revoking cell. */
const tokenOfFreshAgent =
  (resource: "tokens" | "collector_tokens"): Arrange =>
  async (world, route) => {
    const agentId = await freshAgent(world);
    const token = await expectStatus(
      world.system,
      201,
      "POST",
      `/projects/${world.project.id}/cluster_agents/${agentId}/${resource}`,
      { name: "cell-token" },
    );
    return { target: fillPath(world, route.path, { agent_id: agentId, token_id: Number(token.id) }) };
  };

/** A fresh user made a Guest of the route's group or project by the admin, for a level change. */
/** A fresh Guest of the route's group or project, made by the admin; the route's path for them. */
async function freshMemberPath(world: World, route: { path: string }): Promise<string> {
  const userId = await freshUser(world);
  const source = fillPath(world, route.path.replace(/(\/all)?\/:user_id$/, ""));
  await expectStatus(world.system, 201, "POST", source.slice(API.length), {
    user_id: userId,
    access_level: 10,
  });
  return fillPath(world, route.path, { user_id: userId });
}

const onFreshMember: Arrange = async (world, route) => ({
  target: await freshMemberPath(world, route),
  body: { access_level: 20 },
});

/** A read of a fresh member. */
const readFreshMember: Arrange = async (world, route) => ({ target: await freshMemberPath(world, route) });

/**
 * The id of an audit event of `projectId` (the agent's creation, recorded by the projection),
 * looked up once per project as the admin.
 */
const auditEventIds = new Map<number, Promise<number>>();
export function auditEventIdOf(world: World, projectId: number): Promise<number> {
  let id = auditEventIds.get(projectId);
  if (id === undefined) {
    id = eventually(async () => {
      const events = await world.system.api("GET", `/projects/${projectId}/audit_events?per_page=1`);
      const [event] = (events.body ?? []) as unknown as Array<{ id?: number }>;
      return event?.id;
    }, `an audit event of project ${projectId}`);
    auditEventIds.set(projectId, id);
  }
  return id;
}

/** A read of one audit event of the world's project, by its route's parameter name. */
const onAuditEvent =
  (param: "audit_event_id" | "id"): Arrange =>
  async (world, route) => ({
    target: fillPath(world, route.path, { [param]: await auditEventIdOf(world, world.project.id) }),
  });

/** Cells that need more than the world's resources, by `METHOD path`. */
const ARRANGEMENTS: Record<string, Arrange> = {
  "GET /-/console/:file": async (world, route) => ({
    target: fillPath(world, route.path, { file: "app.js" }),
  }),
  [`GET ${API}/projects/:id/audit_events/:audit_event_id`]: onAuditEvent("audit_event_id"),
  [`GET ${API}/-/kasmap/projects/:id/audit_events/:audit_event_id`]: onAuditEvent("audit_event_id"),
  [`GET ${API}/audit_events/:id`]: onAuditEvent("id"),
  [`GET ${API}/-/kasmap/audit_events/:id`]: onAuditEvent("id"),
  [`POST ${API}/groups`]: plain(() => {
    const path = next("cell-group");
    return { name: path, path };
  }),
  [`POST ${API}/groups/:id/transfer`]: async (world, route) => {
    const path = next("cell-subgroup");
    const group = await expectStatus(world.system, 201, "POST", "/groups", {
      name: path,
      path,
      parent_id: world.group.id,
    });
    return { target: fillPath(world, route.path, { id: Number(group.id) }), body: {} };
  },
  [`POST ${API}/groups/:id/members`]: async (world, route) => ({
    target: fillPath(world, route.path),
    body: { user_id: await freshUser(world), access_level: 10 },
  }),
  [`PUT ${API}/groups/:id/members/:user_id`]: onFreshMember,
  [`GET ${API}/groups/:id/members/:user_id`]: readFreshMember,
  [`GET ${API}/groups/:id/members/all/:user_id`]: readFreshMember,
  [`POST ${API}/projects`]: plain(() => ({ name: next("cell-project") })),
  [`PUT ${API}/projects/:id/transfer`]: async (world, route, destination) => {
    const project = await expectStatus(world.system, 201, "POST", "/projects", {
      name: next("cell-moved"),
      namespace_id: world.group.id,
    });
    return {
      target: fillPath(world, route.path, { id: Number(project.id) }),
      body: { namespace: destination },
    };
  },
  [`POST ${API}/projects/:id/members`]: async (world, route) => ({
    target: fillPath(world, route.path),
    body: { user_id: await freshUser(world), access_level: 10 },
  }),
  [`PUT ${API}/projects/:id/members/:user_id`]: onFreshMember,
  [`GET ${API}/projects/:id/members/:user_id`]: readFreshMember,
  [`GET ${API}/projects/:id/members/all/:user_id`]: readFreshMember,
  [`POST ${API}/users`]: plain(() => {
    const name = next("cell-user");
    return { username: name, name };
  }),
  [`POST ${API}/users/:id/personal_access_tokens`]: plain(() => ({
    name: next("cell-pat"),
    scopes: ["api"],
  })),
  [`POST ${AGENTS}`]: plain(() => ({ name: next("cell-new-agent") })),
  [`DELETE ${AGENTS}/:agent_id`]: async (world, route) => ({
    target: fillPath(world, route.path, { agent_id: await freshAgent(world) }),
  }),
  [`PUT ${AGENTS}/:agent_id/configuration`]: plain(() => ({
    content: "ci_access:\n  projects:\n    - id: world/app\n",
  })),
  [`POST ${AGENTS}/:agent_id/tokens`]: onFreshAgent,
  [`DELETE ${AGENTS}/:agent_id/tokens/:token_id`]: tokenOfFreshAgent("tokens"),
  // A fresh agent per cell: each agent holds at most two active tokens of each kind.
  [`POST ${AGENTS}/:agent_id/collector_tokens`]: onFreshAgent,
  [`DELETE ${AGENTS}/:agent_id/collector_tokens/:token_id`]: tokenOfFreshAgent("collector_tokens"),
  [`POST ${AGENTS}/:agent_id/cluster_info/verify`]: plain(() => ({ cluster_name: "prod" })),
  [`GET ${API}/clusters/lookup`]: async (world, route) => ({
    target: `${fillPath(world, route.path)}?ip=10.0.0.1`,
  }),
  [`POST ${API}/projects/:id/jobs`]: plain(() => ({})),
  [`DELETE ${API}/personal_access_tokens/self`]: async (world, route) => ({
    target: fillPath(world, route.path),
    consumesCredential: true,
  }),
  // Someone else's token for every principal: a fresh user's.
  [`DELETE ${API}/personal_access_tokens/:id`]: async (world, route) => {
    const owner = await freshUser(world);
    const token = await expectStatus(world.system, 201, "POST", `/users/${owner}/personal_access_tokens`, {
      name: next("cell-revoke"),
      scopes: ["api"],
    });
    return { target: fillPath(world, route.path, { id: Number(token.id) }) };
  },
  [`POST ${API}/projects/:id/jobs/:job_id/finish`]: async (world, route) => {
    const job = await expectStatus(
      world.system,
      201,
      "POST",
      `/projects/${world.project.id}/jobs`,
      {},
      world.tokens.developer,
    );
    return { target: fillPath(world, route.path, { job_id: Number(job.id) }) };
  },
  [`POST ${API}/users/:id/block`]: async (world, route) => ({
    target: fillPath(world, route.path, { id: await freshUser(world) }),
  }),
  [`POST ${API}/users/:id/unblock`]: async (world, route) => ({
    target: fillPath(world, route.path, { id: await freshUser(world) }),
  }),
};

export function routeKey(route: RestRoute): string {
  return `${route.method.toUpperCase()} ${route.path}`;
}

/** The request of one cell; `destination` is the group project transfers move into. */
export function arrangeCell(world: World, route: RestRoute, destination: number): Promise<Cell> {
  const arrange = ARRANGEMENTS[routeKey(route)] ?? plain();
  return arrange(world, route, destination);
}

/**
 * A fresh token of the same user with the same scopes, for a principal whose personal access
 * token works (the admin mints it); any other credential unchanged, as no request can revoke it.
 */
export async function throwawayCopy(
  world: World,
  headers: Array<[string, string]>,
): Promise<Array<[string, string]>> {
  const token = headers.find(([name]) => name === "private-token")?.[1];
  if (token === undefined) return headers;
  const self = await world.system.api("GET", "/personal_access_tokens/self", undefined, token);
  if (self.status !== 200) return headers;
  const copy = await expectStatus(
    world.system,
    201,
    "POST",
    `/users/${self.body?.user_id}/personal_access_tokens`,
    {
      name: next("cell-self"),
      scopes: self.body?.scopes,
    },
  );
  return [["private-token", String(copy.token)]];
}
