import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { HookDeliverer, type HookDelivery } from "./hook-delivery.ts";
import { auditStreamingEvent, groupSystemHook, projectSystemHook, pushHook } from "./hook-payloads.ts";
import { answerAgentInfo, SimAgentTokens } from "./kas-internal-api.ts";
import { createRequestHandler, type LoggedRequest, type RouteContext } from "./routes.ts";
import {
  type SimAgent,
  type SimGroup,
  type SimJob,
  type SimProject,
  type SimUser,
  SimulatorState,
  type Visibility,
} from "./state.ts";

export { type AgentProjectHierarchy, addAgentProjectHierarchy } from "./agent-project-hierarchy.ts";
export type { HookDelivery } from "./hook-delivery.ts";
export { type MirrorPutCommand, mirrorSimulatedAgent, type SendMirrorPut } from "./mirror-requests.ts";
export type { CredentialKind, LoggedRequest } from "./routes.ts";
export type { SimAgent, SimGroup, SimJob, SimProject, SimUser, Visibility } from "./state.ts";
export { SimulatorState } from "./state.ts";

/** Passing `{ fireHooks: false }` loses the notification GitLab would send (for reconcile tests). */
export interface MutationOptions {
  fireHooks?: boolean;
}

export interface GitLabSimulatorOptions {
  /** `link_only` drops `x-next-page` & co. (GitLab's keyset pagination): only `Link` remains. */
  paginationStyle?: "headers" | "link_only";
  /**
   * GitLab's KAS secret (the key bytes, 32): the internal `agent_info` route then answers KAS
   * JWTs signed with it (kas-internal-api.ts); without it that route is 404.
   */
  kasSecret?: Buffer;
}

export interface BulkLoadSpec {
  /** Top-level groups. */
  groups: number;
  /** Subgroups under each top-level group (one level). Default 0. */
  subgroupsPerGroup?: number;
  /** Projects in every group and subgroup. */
  projectsPerGroup: number;
  /** Agents in total, spread one per project over the first projects. Default 0. */
  agents?: number;
  /** Config file content for each agent (given the agent); none when absent. */
  agentConfig?: (agent: SimAgent, project: SimProject) => string | null;
  /** Path prefix, so several loads do not collide. Default "bulk". */
  prefix?: string;
}

export interface GitLabSimulator {
  /** GitLab's root URL (`http://127.0.0.1:<port>`); the API is under `/api/v4`. */
  readonly url: string;
  readonly apiUrl: string;
  readonly state: SimulatorState;
  /** Every request answered (credential kind only, never the token). */
  readonly requestLog: LoggedRequest[];
  /** Every hook / audit stream POST started, with its outcome once flushed. */
  readonly hookDeliveries: readonly HookDelivery[];

  addUser(input: {
    username: string;
    name?: string;
    is_admin?: boolean;
    state?: "active" | "blocked";
  }): SimUser;
  /** A personal access token (or OAuth token) of the user; scopes `["api"]` unless given. */
  addToken(
    userId: number,
    options?: { kind?: "personal" | "oauth"; expired?: boolean; scopes?: readonly string[] },
  ): string;
  revokeToken(token: string): void;
  addGroup(
    input: {
      path: string;
      name?: string;
      parent_id?: number | null;
      description?: string;
      visibility?: Visibility;
    },
    options?: MutationOptions,
  ): SimGroup;
  renameGroup(groupId: number, input: { name?: string; path?: string }, options?: MutationOptions): SimGroup;
  deleteGroup(groupId: number, options?: MutationOptions): void;
  /**
   * Moves a group under another parent (null: top level). Fires no hook: GitLab's system hooks
   * document no group transfer event, so only a reconcile sees it.
   */
  transferGroup(groupId: number, newParentId: number | null): SimGroup;
  addProject(
    input: {
      path: string;
      namespace_id: number;
      name?: string;
      description?: string | null;
      default_branch?: string;
      visibility?: Visibility;
    },
    options?: MutationOptions,
  ): SimProject;
  renameProject(
    projectId: number,
    input: { name?: string; path?: string },
    options?: MutationOptions,
  ): SimProject;
  transferProject(projectId: number, namespaceId: number, options?: MutationOptions): SimProject;
  deleteProject(projectId: number, options?: MutationOptions): void;
  addMember(target: { group_id: number } | { project_id: number }, userId: number, accessLevel: number): void;
  addAgent(
    projectId: number,
    name: string,
    options?: MutationOptions & { created_by_user_id?: number },
  ): SimAgent;
  removeAgent(agentId: number, options?: MutationOptions): void;
  addAgentToken(agentId: number, options?: MutationOptions): number;
  /**
   * `addAgentToken` that also answers the token's plaintext (`glagent-…`), which GitLab's internal
   * `agent_info` route then accepts until `revokeAgentToken` or the agent's removal.
   */
  issueAgentToken(agentId: number, options?: MutationOptions): { id: number; token: string };
  revokeAgentToken(agentId: number, tokenId: number, options?: MutationOptions): void;
  /** Commits a file on the default branch (push hook when it changed). */
  setFile(
    projectId: number,
    path: string,
    content: string,
    options?: MutationOptions & { author_id?: number },
  ): void;
  deleteFile(projectId: number, path: string, options?: MutationOptions & { author_id?: number }): void;
  /** A running job; its `token` is the `JOB-TOKEN`. */
  addJob(input: { project_id: number; user_id: number; ref?: string; status?: string }): SimJob;
  loadBulk(spec: BulkLoadSpec): { groupIds: number[]; projectIds: number[]; agentIds: number[] };

  addSystemHook(url: string, secret: string): void;
  addWebhook(target: { group_id: number } | { project_id: number }, url: string, secret: string): void;
  addAuditStreamingDestination(url: string, verificationToken: string): void;
  /** Resolves once every hook POST started so far has been answered (or failed). */
  flushHooks(): Promise<void>;

  /** true: the listener closes (connection refused); false: it listens again on the same port. */
  setDown(down: boolean): Promise<void>;
  /** The next `count` requests get 429 with `Retry-After: seconds`. */
  rateLimitNext(count: number, retryAfterSeconds: number): void;
  /** The next `count` requests answer `status` (default 500). */
  failNext(count: number, status?: number): void;
  /** The next `count` requests are never answered (for client timeouts). */
  stallNext(count: number): void;
  setPaginationStyle(style: "headers" | "link_only"): void;
  close(): Promise<void>;
}

const AUDIT_TARGET_AGENT = "Clusters::Agent";

export async function startGitLabSimulator(options: GitLabSimulatorOptions = {}): Promise<GitLabSimulator> {
  const state = new SimulatorState();
  const requestLog: LoggedRequest[] = [];
  const deliverer = new HookDeliverer();
  const systemHooks: Array<{ url: string; secret: string }> = [];
  const webhooks: Array<{
    target: { group_id: number } | { project_id: number };
    url: string;
    secret: string;
  }> = [];
  const auditDestinations: Array<{ url: string; token: string }> = [];
  const rateLimit = { remaining: 0, retryAfterSeconds: 1 };
  const faults = { failures: 0, status: 500, stalls: 0 };
  let paginationStyle = options.paginationStyle ?? "headers";
  let pushSequence = 1;
  let nextAgentTokenId = 1;
  const agentTokens = new SimAgentTokens();
  const kasSecret = options.kasSecret ?? null;

  const fire = (mutation: MutationOptions | undefined) => mutation?.fireHooks !== false;

  function systemHook(payload: Record<string, unknown>): void {
    for (const hook of systemHooks) {
      deliverer.send(
        "system_hook",
        hook.url,
        String(payload.event_name),
        { "x-gitlab-event": "System Hook", "x-gitlab-token": hook.secret },
        payload,
      );
    }
  }

  /** Sends `payloadOf(subject)` to the system hooks unless the mutation asked to lose it; returns `subject`. */
  function announce<T>(
    mutation: MutationOptions | undefined,
    subject: T,
    payloadOf: (subject: T) => Record<string, unknown>,
  ): T {
    if (fire(mutation)) systemHook(payloadOf(subject));
    return subject;
  }

  /** Records an audit event on the agent's project and streams it; the target is the agent. */
  function agentAuditEvent(
    agent: SimAgent,
    eventType: string,
    author: SimUser | null,
    message: string,
  ): void {
    const project = state.requireProject(agent.project_id);
    const target = { id: agent.id, details: agent.name };
    const stored = state.recordAuditEvent({
      author_id: author?.id ?? -1,
      entity_id: project.id,
      entity_type: "Project",
      event_name: eventType,
      details: {
        custom_message: message,
        target_id: target.id,
        target_type: AUDIT_TARGET_AGENT,
        target_details: target.details,
      },
    });
    const payload = auditStreamingEvent(state, {
      id: stored.id,
      event_type: eventType,
      project,
      author,
      target_id: target.id,
      target_type: AUDIT_TARGET_AGENT,
      target_details: target.details,
      message,
    });
    for (const destination of auditDestinations) {
      deliverer.send(
        "audit_stream",
        destination.url,
        eventType,
        { "x-gitlab-event-streaming-token": destination.token, "x-gitlab-audit-event-type": eventType },
        payload,
      );
    }
  }

  function filePushed(
    projectId: number,
    path: string,
    action: "added" | "modified" | "removed",
    authorId: number | undefined,
  ): void {
    const project = state.requireProject(projectId);
    const author = authorId === undefined ? null : state.requireUser(authorId);
    const sequence = pushSequence++;
    systemHook(pushHook(state, project, author, { path, action }, { webhook: false, sequence }));
    const groupIds = state.groups.has(project.namespace_id)
      ? new Set(state.groupAncestors(project.namespace_id).map((group) => group.id))
      : new Set<number>();
    for (const hook of webhooks) {
      const applies =
        "project_id" in hook.target
          ? hook.target.project_id === projectId
          : groupIds.has(hook.target.group_id);
      if (!applies) continue;
      const payload = pushHook(state, project, author, { path, action }, { webhook: true, sequence });
      deliverer.send(
        "webhook",
        hook.url,
        "push",
        { "x-gitlab-event": "Push Hook", "x-gitlab-token": hook.secret },
        payload,
      );
    }
  }

  function addAgentToken(agentId: number, mutation: MutationOptions | undefined): number {
    const agent = state.agents.get(agentId);
    if (agent === undefined) throw new Error(`no agent ${agentId}`);
    const tokenId = nextAgentTokenId++;
    const message = `Created cluster agent token 'token-${tokenId}' with id ${tokenId}`;
    if (fire(mutation)) agentAuditEvent(agent, "cluster_agent_token_created", null, message);
    return tokenId;
  }

  const context: RouteContext = {
    state,
    requestLog,
    rateLimit,
    faults,
    paginationStyle: () => paginationStyle,
    onProjectCreated: (project) => systemHook(projectSystemHook(state, "project_create", project)),
    agentInfo: (request) => answerAgentInfo(state, agentTokens, kasSecret, request.headers),
  };
  const server: Server = createServer(createRequestHandler(context));
  await listen(server, 0);
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  let down = false;

  return {
    url,
    apiUrl: `${url}/api/v4`,
    state,
    requestLog,
    hookDeliveries: deliverer.deliveries,

    addUser: (input) => state.addUser(input),
    addToken: (userId, tokenOptions) =>
      state.addToken(userId, tokenOptions?.kind ?? "personal", tokenOptions),
    revokeToken: (token) => state.revokeToken(token),

    addGroup: (input, mutation) =>
      announce(mutation, state.addGroup(input), (group) => groupSystemHook(state, "group_create", group)),
    renameGroup(groupId, input, mutation) {
      const old = { old_path: state.requireGroup(groupId).path, old_full_path: state.groupFullPath(groupId) };
      return announce(mutation, state.renameGroup(groupId, input), (group) =>
        groupSystemHook(state, "group_rename", group, old),
      );
    },
    transferGroup(groupId, newParentId) {
      state.transferGroup(groupId, newParentId);
      return state.requireGroup(groupId);
    },
    deleteGroup(groupId, mutation) {
      const group = state.requireGroup(groupId);
      const subtree = [groupId, ...state.descendantGroups(groupId)].map((id) => state.requireGroup(id));
      const fullPaths = new Map(subtree.map((each) => [each.id, state.groupFullPath(each.id)]));
      const projects: Array<{ project: SimProject; fullPath: string }> = [];
      for (const each of subtree) {
        for (const projectId of state.projectsByNamespace.get(each.id)?.values() ?? []) {
          const project = state.requireProject(projectId);
          projects.push({ project, fullPath: state.projectFullPath(project) });
        }
      }
      state.deleteGroup(group.id);
      if (!fire(mutation)) return;
      for (const { project, fullPath } of projects) {
        systemHook(projectSystemHook(state, "project_destroy", project, { path_with_namespace: fullPath }));
      }
      for (const each of subtree.reverse()) {
        systemHook(
          groupSystemHook(state, "group_destroy", each, { full_path: fullPaths.get(each.id) as string }),
        );
      }
    },

    addProject: (input, mutation) =>
      announce(mutation, state.addProject(input), (project) =>
        projectSystemHook(state, "project_create", project),
      ),
    renameProject(projectId, input, mutation) {
      const before = state.requireProject(projectId).path;
      const { old_full_path } = state.renameProject(projectId, input);
      return announce(mutation, state.requireProject(projectId), (project) => {
        const event = project.path !== before ? "project_rename" : "project_update";
        return projectSystemHook(state, event, project, { old_path_with_namespace: old_full_path });
      });
    },
    transferProject(projectId, namespaceId, mutation) {
      const { old_full_path } = state.transferProject(projectId, namespaceId);
      return announce(mutation, state.requireProject(projectId), (project) =>
        projectSystemHook(state, "project_transfer", project, { old_path_with_namespace: old_full_path }),
      );
    },
    deleteProject(projectId, mutation) {
      const fullPath = state.projectFullPath(state.requireProject(projectId));
      const project = state.deleteProject(projectId);
      if (fire(mutation))
        systemHook(projectSystemHook(state, "project_destroy", project, { path_with_namespace: fullPath }));
    },
    addMember: (target, userId, accessLevel) => state.addMember(target, userId, accessLevel),

    addAgent(projectId, name, mutation) {
      const agent = state.addAgent(projectId, name, mutation?.created_by_user_id ?? null);
      if (fire(mutation)) {
        const author = agent.created_by_user_id === null ? null : state.requireUser(agent.created_by_user_id);
        const message = `Created cluster agent '${name}' with id ${agent.id}`;
        agentAuditEvent(agent, "cluster_agent_created", author, message);
      }
      return agent;
    },
    removeAgent(agentId, mutation) {
      const agent = state.removeAgent(agentId);
      const message = `Deleted cluster agent '${agent.name}' with id ${agent.id}`;
      if (fire(mutation)) agentAuditEvent(agent, "cluster_agent_deleted", null, message);
    },
    addAgentToken: addAgentToken,
    issueAgentToken(agentId, mutation) {
      const id = addAgentToken(agentId, mutation);
      return { id, token: agentTokens.issue(agentId, id) };
    },
    revokeAgentToken(agentId, tokenId, mutation) {
      const agent = state.agents.get(agentId);
      if (agent === undefined) throw new Error(`no agent ${agentId}`);
      agentTokens.revoke(agentId, tokenId);
      const message = `Revoked cluster agent token 'token-${tokenId}' with id ${tokenId}`;
      if (fire(mutation)) agentAuditEvent(agent, "cluster_agent_token_revoked", null, message);
    },

    setFile(projectId, path, content, mutation) {
      const change = state.setFile(projectId, path, content);
      if (change !== "unchanged" && fire(mutation)) filePushed(projectId, path, change, mutation?.author_id);
    },
    deleteFile(projectId, path, mutation) {
      const change = state.setFile(projectId, path, null);
      if (change !== "unchanged" && fire(mutation)) filePushed(projectId, path, change, mutation?.author_id);
    },
    addJob: (input) => state.addJob(input),
    loadBulk: (spec) => loadBulk(state, spec),

    addSystemHook: (hookUrl, secret) => void systemHooks.push({ url: hookUrl, secret }),
    addWebhook: (target, hookUrl, secret) => void webhooks.push({ target, url: hookUrl, secret }),
    addAuditStreamingDestination: (destinationUrl, token) =>
      void auditDestinations.push({ url: destinationUrl, token }),
    flushHooks: () => deliverer.flush(),

    async setDown(wantDown) {
      if (wantDown === down) return;
      down = wantDown;
      if (wantDown) {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
      } else {
        await listen(server, port);
      }
    },
    rateLimitNext(count, retryAfterSeconds) {
      rateLimit.remaining = count;
      rateLimit.retryAfterSeconds = retryAfterSeconds;
    },
    failNext(count, status = 500) {
      faults.failures = count;
      faults.status = status;
    },
    stallNext(count) {
      faults.stalls = count;
    },
    setPaginationStyle(style) {
      paginationStyle = style;
    },
    async close() {
      await deliverer.flush();
      if (down) return;
      down = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** Fills the state directly (no hooks): ids ascend parents before children. */
function loadBulk(
  state: SimulatorState,
  spec: BulkLoadSpec,
): { groupIds: number[]; projectIds: number[]; agentIds: number[] } {
  const prefix = spec.prefix ?? "bulk";
  const groupIds: number[] = [];
  const projectIds: number[] = [];
  const agentIds: number[] = [];
  const addProjects = (groupId: number) => {
    for (let index = 0; index < spec.projectsPerGroup; index += 1) {
      projectIds.push(state.addProject({ path: `project-${index}`, namespace_id: groupId }).id);
    }
  };
  for (let top = 0; top < spec.groups; top += 1) {
    const group = state.addGroup({ path: `${prefix}-${top}` });
    groupIds.push(group.id);
    addProjects(group.id);
    for (let sub = 0; sub < (spec.subgroupsPerGroup ?? 0); sub += 1) {
      const subgroup = state.addGroup({ path: `sub-${sub}`, parent_id: group.id });
      groupIds.push(subgroup.id);
      addProjects(subgroup.id);
    }
  }
  const agentCount = Math.min(spec.agents ?? 0, projectIds.length);
  for (let index = 0; index < agentCount; index += 1) {
    const project = state.requireProject(projectIds[index] as number);
    const agent = state.addAgent(project.id, `agent-${index}`);
    agentIds.push(agent.id);
    const config = spec.agentConfig?.(agent, project) ?? null;
    if (config !== null) state.setFile(project.id, `.gitlab/agents/${agent.name}/config.yaml`, config);
  }
  return { groupIds, projectIds, agentIds };
}
