import type { IncomingMessage, ServerResponse } from "node:http";
import { allowedAgentsJson } from "./allowed-agents.ts";
import { AGENT_INFO_ROUTE } from "./kas-internal-api.ts";
import { paginate } from "./pagination.ts";
import { agentJson, groupJson, jobJson, projectJson, userJson } from "./shapes.ts";
import type { Caller, SimGroup, SimProject, SimTokenKind, SimUser, SimulatorState } from "./state.ts";

export type CredentialKind = "private_token" | "oauth" | "job_token" | "none";

export interface LoggedRequest {
  method: string;
  /** Path and query, credentials never included. */
  path: string;
  credential: CredentialKind;
  status: number;
}

export interface RouteContext {
  state: SimulatorState;
  requestLog: LoggedRequest[];
  rateLimit: { remaining: number; retryAfterSeconds: number };
  /** The next `failures` requests answer `status` (a GitLab 5xx); the next `stalls` never answer. */
  faults: { failures: number; status: number; stalls: number };
  /** `link_only`: no `x-next-page`, as GitLab's keyset pagination. */
  paginationStyle: () => "headers" | "link_only";
  onProjectCreated(project: SimProject, user: SimUser): void;
  /** GitLab's internal `agent_info` route (KAS's, kas-internal-api.ts). */
  agentInfo(request: IncomingMessage): Answer;
}

export interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Sent as text/plain instead of JSON (raw files). */
  text?: string;
}

const GITLAB_VERSION = { version: "17.6.0-ee", revision: "0123456789a" };
const DEVELOPER = 30;
const REPORTER = 20;
const MAINTAINER = 40;

const notFound = (what: string): Answer => ({ status: 404, body: { message: `404 ${what} Not Found` } });
const unauthorized: Answer = { status: 401, body: { message: "401 Unauthorized" } };
const forbidden: Answer = { status: 403, body: { message: "403 Forbidden" } };

export function createRequestHandler(context: RouteContext) {
  return (request: IncomingMessage, response: ServerResponse): void => {
    void handle(context, request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { "content-type": "application/json" });
      response.end(JSON.stringify({ message: `500 Internal Server Error: ${String(error)}` }));
    });
  };
}

async function handle(
  context: RouteContext,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = new URL(request.url ?? "/", `http://${request.headers.host ?? "127.0.0.1"}`);
  const method = request.method ?? "GET";
  const credential = credentialOf(request);
  let answer: Answer;
  if (context.faults.stalls > 0) {
    // Never answered: the client's timeout has to end it (the socket closes with the server).
    context.faults.stalls -= 1;
    context.requestLog.push({
      method,
      path: url.pathname + url.search,
      credential: credential?.logKind ?? "none",
      status: 0,
    });
    return;
  }
  if (context.faults.failures > 0) {
    context.faults.failures -= 1;
    answer = {
      status: context.faults.status,
      body: { message: `${context.faults.status} Internal Server Error` },
    };
  } else if (context.rateLimit.remaining > 0) {
    context.rateLimit.remaining -= 1;
    answer = {
      status: 429,
      body: { message: "Retry later" },
      headers: { "retry-after": String(context.rateLimit.retryAfterSeconds) },
    };
  } else {
    const body = method === "POST" ? await readBody(request) : null;
    answer =
      method === "GET" && url.pathname === AGENT_INFO_ROUTE
        ? context.agentInfo(request)
        : route(context, method, url, credential, body);
  }
  context.requestLog.push({
    method,
    path: url.pathname + url.search,
    credential: credential === null ? "none" : credential.logKind,
    status: answer.status,
  });
  const headers = { ...answer.headers };
  if (answer.text !== undefined) {
    // GitLab (Workhorse) sends a repository file with its length.
    response.writeHead(answer.status, {
      ...headers,
      "content-type": "text/plain; charset=utf-8",
      "content-length": String(Buffer.byteLength(answer.text)),
    });
    response.end(answer.text);
    return;
  }
  response.writeHead(answer.status, { ...headers, "content-type": "application/json" });
  response.end(JSON.stringify(answer.body));
}

interface PresentedCredential {
  kind: SimTokenKind;
  token: string;
  logKind: Exclude<CredentialKind, "none">;
}

function credentialOf(request: IncomingMessage): PresentedCredential | null {
  const privateToken = request.headers["private-token"];
  if (typeof privateToken === "string")
    return { kind: "personal", token: privateToken, logKind: "private_token" };
  const jobToken = request.headers["job-token"];
  if (typeof jobToken === "string") return { kind: "job", token: jobToken, logKind: "job_token" };
  const authorization = request.headers.authorization;
  if (typeof authorization === "string" && /^bearer /i.test(authorization)) {
    return { kind: "oauth", token: authorization.slice(7).trim(), logKind: "oauth" };
  }
  return null;
}

async function readBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (text === "") return {};
  if ((request.headers["content-type"] ?? "").includes("application/json")) {
    try {
      const parsed: unknown = JSON.parse(text);
      return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

function route(
  context: RouteContext,
  method: string,
  url: URL,
  credential: PresentedCredential | null,
  body: Record<string, unknown> | null,
): Answer {
  const { state } = context;
  const path = url.pathname.replace(/\/+$/, "");
  if (method === "GET" && path === "/oauth/token/info") return oauthTokenInfo(state, credential);
  if (!path.startsWith("/api/v4/")) return notFound("");
  const segments = path
    .slice("/api/v4/".length)
    .split("/")
    .map((segment) => decodeURIComponent(segment));
  const caller = state.authenticate(credential);
  if (caller === "invalid") return unauthorized;

  // Job tokens reach only the job routes here.
  if (caller.user !== null && caller.via === "job") {
    if (method !== "GET" || segments[0] !== "job") return unauthorized;
    const job = caller.job;
    if (job === null) return unauthorized;
    if (segments.length === 1) return { status: 200, body: jobJson(state, job) };
    if (segments[1] === "allowed_agents" && segments.length === 2) {
      return { status: 200, body: allowedAgentsJson(state, job) };
    }
    return notFound("");
  }

  const [resource, id, sub, ...rest] = segments;
  const request: ResourceRequest = {
    state,
    caller,
    url,
    sub,
    rest,
    paginationStyle: context.paginationStyle(),
  };
  if (method === "POST") {
    // GitLab's `API::API` scopes: `read_api` reads only.
    if (credential !== null && !state.scopesOf(credential).includes("api")) return insufficientScope("api");
    if (resource === "projects" && id === undefined) return createProject(context, caller, body ?? {});
    return notFound("");
  }
  if (method !== "GET") return { status: 405, body: { message: "405 Method Not Allowed" } };

  switch (resource) {
    case "user":
      if (caller.user === null) return unauthorized;
      return { status: 200, body: userJson(caller.user, { withAdmin: true }) };
    case "personal_access_tokens":
      if (caller.user === null) return unauthorized;
      if (id !== "self" || sub !== undefined) return notFound("");
      return accessTokenSelf(state, caller, credential);
    case "version":
      if (caller.user === null) return unauthorized;
      return { status: 200, body: GITLAB_VERSION };
    case "job":
      return unauthorized;
    case "groups":
      return id === undefined ? listGroups(request) : groupRoutes(request, state.findGroup(id));
    case "projects":
      return id === undefined ? listProjects(request) : projectRoutes(request, state.findProject(id));
    default:
      return notFound("");
  }
}

/**
 * `GET /personal_access_tokens/self` (`API::PersonalAccessTokens::SelfInformation`): any scope
 * may call it; a token that is not a personal access token (OAuth's) gets 400.
 */
function accessTokenSelf(
  state: SimulatorState,
  caller: Caller,
  credential: PresentedCredential | null,
): Answer {
  if (credential === null || caller.user === null || caller.via !== "personal") {
    return {
      status: 400,
      body: { message: "400 Bad request - This endpoint requires token type to be a personal access token" },
    };
  }
  return {
    status: 200,
    body: {
      id: 1,
      name: "simulated",
      revoked: false,
      created_at: "2026-01-01T00:00:00.000Z",
      scopes: state.scopesOf(credential),
      user_id: caller.user.id,
      last_used_at: null,
      active: true,
      expires_at: null,
    },
  };
}

/** Doorkeeper's `GET /oauth/token/info` (outside `/api/v4`), for OAuth tokens only. */
function oauthTokenInfo(state: SimulatorState, credential: PresentedCredential | null): Answer {
  const caller = credential?.kind === "oauth" ? state.authenticate(credential) : "invalid";
  if (credential === null || caller === "invalid" || caller.user === null || caller.via !== "oauth") {
    return {
      status: 401,
      body: { error: "invalid_request", error_description: "The access token is invalid" },
    };
  }
  const scope = state.scopesOf(credential);
  return {
    status: 200,
    body: {
      resource_owner_id: caller.user.id,
      scope,
      expires_in: 7200,
      application: { uid: "simulated" },
      created_at: 1_767_225_600,
      scopes: scope,
      expires_in_seconds: 7200,
    },
  };
}

/** GitLab's 403 for a token without a scope the endpoint needs. */
function insufficientScope(scope: string): Answer {
  return {
    status: 403,
    body: {
      error: "insufficient_scope",
      error_description: "The request requires higher privileges than provided by the access token.",
      scope,
    },
  };
}

/** A GET below `/groups` or `/projects`: `/<resource>[/:id[/<sub>[/<rest>...]]]`. */
interface ResourceRequest {
  state: SimulatorState;
  caller: Caller;
  url: URL;
  sub: string | undefined;
  rest: string[];
  paginationStyle: "headers" | "link_only";
}

/** One page of `all` (from the request's `page`/`per_page`) as JSON, with the pagination headers. */
function paged<T>(request: ResourceRequest, all: readonly T[], toJson: (item: T) => unknown): Answer {
  const page = paginate(all, request.url);
  const headers = { ...page.headers };
  if (request.paginationStyle === "link_only") {
    delete headers["x-next-page"];
    delete headers["x-prev-page"];
    delete headers["x-page"];
    delete headers["x-total"];
    delete headers["x-total-pages"];
  }
  return { status: 200, body: page.items.map(toJson), headers };
}

function minAccessLevel(url: URL): number | null {
  const value = url.searchParams.get("min_access_level");
  if (value === null) return null;
  const parsed = Number.parseInt(value, 10);
  return Number.isFinite(parsed) ? parsed : null;
}

function listGroups(request: ResourceRequest): Answer {
  const { state, caller, url } = request;
  const topLevelOnly = url.searchParams.get("top_level_only") === "true";
  const minLevel = minAccessLevel(url);
  let ids: number[];
  if (caller.user === null) {
    ids = state.allGroupIds().filter((id) => state.groups.get(id)?.visibility === "public");
  } else if (minLevel !== null) {
    ids = state.memberGroupIds(caller.user.id, minLevel);
  } else if (caller.user.is_admin) {
    ids = state.allGroupIds();
  } else {
    const allAvailable = url.searchParams.get("all_available") === "true";
    const member = new Set(state.memberGroupIds(caller.user.id, 1));
    ids = allAvailable
      ? state.allGroupIds().filter((id) => member.has(id) || state.groups.get(id)?.visibility !== "private")
      : [...member];
  }
  if (topLevelOnly) ids = ids.filter((id) => state.groups.get(id)?.parent_id === null);
  return paged(request, ids, groupById(state));
}

/** `/groups/:id/...`; `group` is what the id or full path names, if anything. */
function groupRoutes(request: ResourceRequest, group: SimGroup | undefined): Answer {
  const { state, caller, url, sub, rest } = request;
  if (group === undefined || !state.canSeeGroup(caller, group)) return notFound("Group");
  if (rest.length > 0) return notFound("");
  const visibleGroup = (id: number) => {
    const candidate = state.groups.get(id);
    return candidate !== undefined && state.canSeeGroup(caller, candidate);
  };
  switch (sub) {
    case undefined:
      return { status: 200, body: groupJson(state, group) };
    case "descendant_groups":
      return paged(request, state.descendantGroups(group.id).filter(visibleGroup), groupById(state));
    case "subgroups":
      return paged(request, state.childGroups(group.id).filter(visibleGroup), groupById(state));
    case "projects": {
      const namespaces =
        url.searchParams.get("include_subgroups") === "true"
          ? [group.id, ...state.descendantGroups(group.id)]
          : [group.id];
      const ids: number[] = [];
      for (const namespaceId of namespaces)
        ids.push(...(state.projectsByNamespace.get(namespaceId)?.values() ?? []));
      ids.sort((a, b) => a - b);
      const visible = ids.filter((projectId) => {
        const project = state.projects.get(projectId);
        return project !== undefined && state.canSeeProject(caller, project);
      });
      return paged(request, visible, projectById(state));
    }
    default:
      return notFound("");
  }
}

function listProjects(request: ResourceRequest): Answer {
  const { state, caller, url } = request;
  const minLevel = minAccessLevel(url);
  const membership = url.searchParams.get("membership") === "true";
  let ids: readonly number[];
  if (caller.user === null) {
    ids = [...state.nonPrivateProjects]
      .filter((id) => state.projects.get(id)?.visibility === "public")
      .sort((a, b) => a - b);
  } else if (minLevel !== null || membership) {
    ids = state.memberProjectIds(caller.user.id, minLevel ?? 1);
  } else if (caller.user.is_admin) {
    ids = state.allProjectIds();
  } else {
    const member = new Set(state.memberProjectIds(caller.user.id, 1));
    for (const id of state.nonPrivateProjects) member.add(id);
    ids = [...member].sort((a, b) => a - b);
  }
  return paged(request, ids, projectById(state));
}

/** `/projects/:id/...`; `project` is what the id or full path names, if anything. */
function projectRoutes(request: ResourceRequest, project: SimProject | undefined): Answer {
  const { state, caller, url, sub, rest } = request;
  if (project === undefined || !state.canSeeProject(caller, project)) return notFound("Project");
  const level =
    caller.user === null ? 0 : caller.user.is_admin ? 50 : state.projectAccessLevel(caller.user.id, project);
  switch (sub) {
    case undefined:
      return {
        status: 200,
        body: projectJson(
          state,
          project,
          caller.user === null ? undefined : state.projectPermissions(caller.user.id, project),
        ),
      };
    case "cluster_agents": {
      if (level < DEVELOPER) return forbidden;
      const agentIds = [...(state.agentsByProject.get(project.id) ?? [])].sort((a, b) => a - b);
      if (rest.length === 0)
        return paged(request, agentIds, (agentId) => agentJson(state, state.agents.get(agentId) as never));
      const agent = rest.length === 1 ? state.agents.get(Number(rest[0])) : undefined;
      if (agent === undefined || agent.project_id !== project.id) return notFound("");
      return { status: 200, body: agentJson(state, agent) };
    }
    case "repository": {
      // /repository/files/:file_path/raw (the file path is one encoded segment)
      if (rest[0] !== "files" || rest.length !== 3 || rest[2] !== "raw") return notFound("");
      if (level < REPORTER && project.visibility === "private") return forbidden;
      const ref = url.searchParams.get("ref");
      if (ref !== null && ref !== project.default_branch && ref !== "HEAD") return notFound("File");
      const content = state.files.get(project.id)?.get(rest[1] as string);
      if (content === undefined) return notFound("File");
      return { status: 200, body: null, text: content };
    }
    case "audit_events": {
      if (level < MAINTAINER) return forbidden;
      const events = [...(state.auditEvents.get(project.id) ?? [])].reverse();
      return paged(request, events, (event) => event);
    }
    default:
      return notFound("");
  }
}

const groupById = (state: SimulatorState) => (id: number) => groupJson(state, state.requireGroup(id));
const projectById = (state: SimulatorState) => (id: number) => projectJson(state, state.requireProject(id));

function createProject(context: RouteContext, caller: Caller, body: Record<string, unknown>): Answer {
  const { state } = context;
  if (caller.user === null) return unauthorized;
  const name = typeof body.name === "string" ? body.name : undefined;
  const path = typeof body.path === "string" ? body.path : name?.toLowerCase().replace(/[^a-z0-9_.-]+/g, "-");
  if (path === undefined || path === "")
    return {
      status: 400,
      body: { error: "name, path are missing, at least one parameter must be provided" },
    };
  const namespaceId = body.namespace_id === undefined ? caller.user.namespace_id : Number(body.namespace_id);
  if (!state.isNamespace(namespaceId)) return notFound("Namespace");
  if (state.groups.has(namespaceId)) {
    const group = state.requireGroup(namespaceId);
    if (!state.canSeeGroup(caller, group)) return notFound("Namespace");
    if (!caller.user.is_admin && state.groupAccess(caller.user.id, namespaceId) < MAINTAINER)
      return forbidden;
  } else if (namespaceId !== caller.user.namespace_id && !caller.user.is_admin) {
    return forbidden;
  }
  if (state.projectsByNamespace.get(namespaceId)?.has(path)) {
    return { status: 400, body: { message: { path: ["has already been taken"] } } };
  }
  const project = state.addProject({
    name: name ?? path,
    path,
    namespace_id: namespaceId,
    description: typeof body.description === "string" ? body.description : null,
    visibility: body.visibility === "public" || body.visibility === "internal" ? body.visibility : "private",
  });
  context.onProjectCreated(project, caller.user);
  return {
    status: 201,
    body: projectJson(state, project, state.projectPermissions(caller.user.id, project)),
  };
}
