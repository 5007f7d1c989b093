import { randomBytes } from "node:crypto";

/**
 * The simulated GitLab's data, held in memory with the indexes a 100,000-project bench needs
 * (by id, by parent, by namespace, by path, per-user memberships). No HTTP and no hooks here.
 */

export type Visibility = "private" | "internal" | "public";
export type SimTokenKind = "personal" | "oauth" | "job";

export interface SimUser {
  id: number;
  username: string;
  name: string;
  state: "active" | "blocked";
  is_admin: boolean;
  /** The personal namespace's id (namespaces and groups share GitLab's id sequence). */
  namespace_id: number;
}

export interface SimGroup {
  id: number;
  name: string;
  path: string;
  description: string;
  parent_id: number | null;
  visibility: Visibility;
  created_at: string;
}

export interface SimProject {
  id: number;
  name: string;
  path: string;
  description: string | null;
  /** A group id, or a user's personal namespace id. */
  namespace_id: number;
  default_branch: string;
  visibility: Visibility;
  created_at: string;
}

export interface SimAgent {
  id: number;
  name: string;
  project_id: number;
  created_at: string;
  created_by_user_id: number | null;
}

export interface SimJob {
  id: number;
  project_id: number;
  user_id: number;
  pipeline_id: number;
  ref: string;
  status: string;
  token: string;
}

export interface SimToken {
  kind: SimTokenKind;
  user_id: number;
  job_id: number | null;
  expired: boolean;
  revoked: boolean;
  /** A personal or OAuth token's scopes (GitLab's names: `api`, `read_api`, `read_user`, …). */
  scopes: readonly string[];
}

/** Who a request is: nobody (no credential) or a user, maybe through a job token. */
export type Caller = { user: null } | { user: SimUser; via: SimTokenKind; job: SimJob | null };

export interface SimAuditEvent {
  id: number;
  author_id: number;
  entity_id: number;
  entity_type: string;
  event_name: string;
  details: Record<string, unknown>;
  created_at: string;
}

type ParentKey = number | "root";

export class SimulatorState {
  readonly users = new Map<number, SimUser>();
  readonly usersByUsername = new Map<string, number>();
  /** personal namespace id → user id */
  readonly userNamespaces = new Map<number, number>();
  readonly tokens = new Map<string, SimToken>();
  readonly groups = new Map<number, SimGroup>();
  readonly groupChildren = new Map<ParentKey, Map<string, number>>();
  readonly projects = new Map<number, SimProject>();
  readonly projectsByNamespace = new Map<number, Map<string, number>>();
  readonly nonPrivateProjects = new Set<number>();
  readonly groupMembers = new Map<number, Map<number, number>>();
  readonly projectMembers = new Map<number, Map<number, number>>();
  readonly userGroups = new Map<number, Map<number, number>>();
  readonly userProjects = new Map<number, Map<number, number>>();
  readonly agents = new Map<number, SimAgent>();
  readonly agentsByProject = new Map<number, Set<number>>();
  readonly files = new Map<number, Map<string, string>>();
  readonly jobs = new Map<number, SimJob>();
  readonly auditEvents = new Map<number, SimAuditEvent[]>();
  private projectOrder: number[] = [];
  private projectOrderDirty = false;
  private groupOrderCache: number[] | null = null;
  private nextUserId = 1;
  private nextNamespaceId = 1;
  private nextProjectId = 1;
  private nextAgentId = 1;
  private nextJobId = 1;
  private nextAuditEventId = 1;
  clock: () => string = () => new Date().toISOString();

  // ---- users and tokens ----

  addUser(input: {
    username: string;
    name?: string;
    is_admin?: boolean;
    state?: "active" | "blocked";
  }): SimUser {
    if (this.usersByUsername.has(input.username)) throw new Error(`username ${input.username} taken`);
    const user: SimUser = {
      id: this.nextUserId++,
      username: input.username,
      name: input.name ?? input.username,
      state: input.state ?? "active",
      is_admin: input.is_admin ?? false,
      namespace_id: this.nextNamespaceId++,
    };
    this.users.set(user.id, user);
    this.usersByUsername.set(user.username, user.id);
    this.userNamespaces.set(user.namespace_id, user.id);
    return user;
  }

  addToken(
    userId: number,
    kind: "personal" | "oauth",
    options: { expired?: boolean; scopes?: readonly string[] } = {},
  ): string {
    this.requireUser(userId);
    const token =
      kind === "personal"
        ? `glpat-${randomBytes(15).toString("base64url")}`
        : randomBytes(32).toString("hex");
    this.tokens.set(token, {
      kind,
      user_id: userId,
      job_id: null,
      expired: options.expired ?? false,
      revoked: false,
      scopes: options.scopes ?? ["api"],
    });
    return token;
  }

  revokeToken(token: string): void {
    const known = this.tokens.get(token);
    if (known !== undefined) known.revoked = true;
  }

  /** The scopes of the token a valid credential presents (a job token has none). */
  scopesOf(credential: { token: string }): readonly string[] {
    return this.tokens.get(credential.token)?.scopes ?? [];
  }

  /** The caller a header credential names; "invalid" for an unknown, expired or revoked token. */
  authenticate(credential: { kind: SimTokenKind; token: string } | null): Caller | "invalid" {
    if (credential === null) return { user: null };
    const token = this.tokens.get(credential.token);
    if (token === undefined || token.revoked || token.expired) return "invalid";
    // A personal access token is also accepted as a Bearer token; a job token only as JOB-TOKEN.
    if ((token.kind === "job") !== (credential.kind === "job")) return "invalid";
    if (credential.kind === "oauth" && token.kind === "job") return "invalid";
    const user = this.users.get(token.user_id);
    if (user === undefined || user.state !== "active") return "invalid";
    const job = token.job_id === null ? null : (this.jobs.get(token.job_id) ?? null);
    if (token.kind === "job" && (job === null || job.status !== "running")) return "invalid";
    return { user, via: token.kind, job };
  }

  // ---- groups ----

  addGroup(input: {
    name?: string;
    path: string;
    parent_id?: number | null;
    description?: string;
    visibility?: Visibility;
  }): SimGroup {
    const parentId = input.parent_id ?? null;
    if (parentId !== null) this.requireGroup(parentId);
    const siblings = this.childMap(parentId ?? "root");
    if (siblings.has(input.path)) throw new Error(`group path ${input.path} taken`);
    const group: SimGroup = {
      id: this.nextNamespaceId++,
      name: input.name ?? input.path,
      path: input.path,
      description: input.description ?? "",
      parent_id: parentId,
      visibility: input.visibility ?? "private",
      created_at: this.clock(),
    };
    this.groups.set(group.id, group);
    siblings.set(group.path, group.id);
    this.groupOrderCache = null;
    return group;
  }

  /** Ancestors from the group itself up to its top-level group. */
  groupAncestors(groupId: number): SimGroup[] {
    const chain: SimGroup[] = [];
    let current = this.groups.get(groupId);
    while (current !== undefined) {
      chain.push(current);
      current = current.parent_id === null ? undefined : this.groups.get(current.parent_id);
    }
    return chain;
  }

  groupFullPath(groupId: number): string {
    return this.groupAncestors(groupId)
      .map((group) => group.path)
      .reverse()
      .join("/");
  }

  groupFullName(groupId: number): string {
    return this.groupAncestors(groupId)
      .map((group) => group.name)
      .reverse()
      .join(" / ");
  }

  /** The group's descendants, parents before children (breadth first), without the group. */
  descendantGroups(groupId: number): number[] {
    const found: number[] = [];
    const queue = [groupId];
    for (let index = 0; index < queue.length; index += 1) {
      for (const child of this.groupChildren.get(queue[index] as number)?.values() ?? []) {
        found.push(child);
        queue.push(child);
      }
    }
    return found;
  }

  childGroups(parentId: number | null): number[] {
    return [...(this.groupChildren.get(parentId ?? "root")?.values() ?? [])].sort((a, b) => a - b);
  }

  /** Every group id, ascending (cached until a group is added or removed). */
  allGroupIds(): number[] {
    this.groupOrderCache ??= [...this.groups.keys()].sort((a, b) => a - b);
    return this.groupOrderCache;
  }

  renameGroup(groupId: number, input: { name?: string; path?: string }): SimGroup {
    const group = this.requireGroup(groupId);
    if (input.path !== undefined && input.path !== group.path) {
      const siblings = this.childMap(group.parent_id ?? "root");
      if (siblings.has(input.path)) throw new Error(`group path ${input.path} taken`);
      siblings.delete(group.path);
      siblings.set(input.path, group.id);
      group.path = input.path;
    }
    if (input.name !== undefined) group.name = input.name;
    return group;
  }

  /** Moves the group (with its subtree) under another parent, or to the top level. */
  transferGroup(groupId: number, newParentId: number | null): { old_full_path: string } {
    const group = this.requireGroup(groupId);
    if (
      newParentId !== null &&
      this.groupAncestors(this.requireGroup(newParentId).id).some((g) => g.id === groupId)
    ) {
      throw new Error(`group ${groupId} cannot move under its own subtree`);
    }
    const target = this.childMap(newParentId ?? "root");
    if (target.has(group.path))
      throw new Error(`group path ${group.path} taken under ${newParentId ?? "the top level"}`);
    const oldFullPath = this.groupFullPath(groupId);
    this.childMap(group.parent_id ?? "root").delete(group.path);
    target.set(group.path, group.id);
    group.parent_id = newParentId;
    return { old_full_path: oldFullPath };
  }

  /** Removes the group, its subgroups and their projects; answers the removed project ids. */
  deleteGroup(groupId: number): { groups: number[]; projects: number[] } {
    const group = this.requireGroup(groupId);
    const groupIds = [groupId, ...this.descendantGroups(groupId)];
    const projectIds: number[] = [];
    for (const id of groupIds) projectIds.push(...(this.projectsByNamespace.get(id)?.values() ?? []));
    for (const projectId of projectIds) this.deleteProject(projectId);
    for (const id of groupIds.reverse()) {
      const removed = this.groups.get(id);
      if (removed === undefined) continue;
      this.childMap(removed.parent_id ?? "root").delete(removed.path);
      this.groups.delete(id);
      this.groupChildren.delete(id);
      for (const userId of this.groupMembers.get(id)?.keys() ?? []) this.userGroups.get(userId)?.delete(id);
      this.groupMembers.delete(id);
    }
    this.childMap(group.parent_id ?? "root").delete(group.path);
    this.groupOrderCache = null;
    return { groups: groupIds, projects: projectIds };
  }

  // ---- projects ----

  addProject(input: {
    name?: string;
    path: string;
    namespace_id: number;
    description?: string | null;
    default_branch?: string;
    visibility?: Visibility;
    creator_id?: number;
  }): SimProject {
    this.requireNamespace(input.namespace_id);
    const siblings = this.namespaceProjects(input.namespace_id);
    if (siblings.has(input.path)) throw new Error(`project path ${input.path} taken`);
    const project: SimProject = {
      id: this.nextProjectId++,
      name: input.name ?? input.path,
      path: input.path,
      description: input.description ?? null,
      namespace_id: input.namespace_id,
      default_branch: input.default_branch ?? "main",
      visibility: input.visibility ?? "private",
      created_at: this.clock(),
    };
    this.projects.set(project.id, project);
    siblings.set(project.path, project.id);
    this.projectOrder.push(project.id);
    if (project.visibility !== "private") this.nonPrivateProjects.add(project.id);
    // GitLab makes the owner of a personal namespace the project's Owner member.
    const owner = this.userNamespaces.get(project.namespace_id);
    if (owner !== undefined) this.addMember({ project_id: project.id }, owner, 50);
    return project;
  }

  projectFullPath(project: SimProject): string {
    return `${this.namespaceFullPath(project.namespace_id)}/${project.path}`;
  }

  namespaceFullPath(namespaceId: number): string {
    const userId = this.userNamespaces.get(namespaceId);
    if (userId !== undefined) return this.users.get(userId)?.username ?? "";
    return this.groupFullPath(namespaceId);
  }

  renameProject(projectId: number, input: { name?: string; path?: string }): { old_full_path: string } {
    const project = this.requireProject(projectId);
    const oldFullPath = this.projectFullPath(project);
    if (input.path !== undefined && input.path !== project.path) {
      const siblings = this.namespaceProjects(project.namespace_id);
      if (siblings.has(input.path)) throw new Error(`project path ${input.path} taken`);
      siblings.delete(project.path);
      siblings.set(input.path, project.id);
      project.path = input.path;
    }
    if (input.name !== undefined) project.name = input.name;
    return { old_full_path: oldFullPath };
  }

  transferProject(projectId: number, namespaceId: number): { old_full_path: string } {
    const project = this.requireProject(projectId);
    this.requireNamespace(namespaceId);
    const oldFullPath = this.projectFullPath(project);
    const target = this.namespaceProjects(namespaceId);
    if (target.has(project.path))
      throw new Error(`project path ${project.path} taken in namespace ${namespaceId}`);
    this.namespaceProjects(project.namespace_id).delete(project.path);
    target.set(project.path, project.id);
    project.namespace_id = namespaceId;
    return { old_full_path: oldFullPath };
  }

  deleteProject(projectId: number): SimProject {
    const project = this.requireProject(projectId);
    this.namespaceProjects(project.namespace_id).delete(project.path);
    this.projects.delete(projectId);
    this.nonPrivateProjects.delete(projectId);
    this.projectOrderDirty = true;
    for (const userId of this.projectMembers.get(projectId)?.keys() ?? [])
      this.userProjects.get(userId)?.delete(projectId);
    this.projectMembers.delete(projectId);
    for (const agentId of this.agentsByProject.get(projectId) ?? []) this.agents.delete(agentId);
    this.agentsByProject.delete(projectId);
    this.files.delete(projectId);
    return project;
  }

  /** Every project id, ascending. */
  allProjectIds(): number[] {
    if (this.projectOrderDirty) {
      this.projectOrder = this.projectOrder.filter((id) => this.projects.has(id));
      this.projectOrderDirty = false;
    }
    return this.projectOrder;
  }

  // ---- members and access ----

  addMember(
    target: { group_id: number } | { project_id: number },
    userId: number,
    accessLevel: number,
  ): void {
    this.requireUser(userId);
    if ("group_id" in target) {
      this.requireGroup(target.group_id);
      mapOf(this.groupMembers, target.group_id).set(userId, accessLevel);
      mapOf(this.userGroups, userId).set(target.group_id, accessLevel);
    } else {
      this.requireProject(target.project_id);
      mapOf(this.projectMembers, target.project_id).set(userId, accessLevel);
      mapOf(this.userProjects, userId).set(target.project_id, accessLevel);
    }
  }

  /** The highest membership on the group or an ancestor (GitLab's inherited membership). */
  groupAccess(userId: number, groupId: number): number {
    let level = 0;
    for (const group of this.groupAncestors(groupId)) {
      level = Math.max(level, this.groupMembers.get(group.id)?.get(userId) ?? 0);
    }
    return level;
  }

  /** GitLab's `permissions` of `GET /projects/:id`: direct and inherited group access. */
  projectPermissions(
    userId: number,
    project: SimProject,
  ): { project_access: number | null; group_access: number | null } {
    const direct = this.projectMembers.get(project.id)?.get(userId) ?? null;
    const inGroup = this.groups.has(project.namespace_id)
      ? this.groupAccess(userId, project.namespace_id)
      : 0;
    return { project_access: direct, group_access: inGroup > 0 ? inGroup : null };
  }

  projectAccessLevel(userId: number, project: SimProject): number {
    const { project_access, group_access } = this.projectPermissions(userId, project);
    return Math.max(project_access ?? 0, group_access ?? 0);
  }

  canSeeProject(caller: Caller, project: SimProject): boolean {
    if (project.visibility === "public") return true;
    if (caller.user === null) return false;
    if (caller.user.is_admin || project.visibility === "internal") return true;
    return this.projectAccessLevel(caller.user.id, project) > 0;
  }

  canSeeGroup(caller: Caller, group: SimGroup): boolean {
    if (group.visibility === "public") return true;
    if (caller.user === null) return false;
    const user = caller.user;
    if (user.is_admin || group.visibility === "internal") return true;
    if (this.groupAccess(user.id, group.id) > 0) return true;
    // Members of a subgroup or of a project inside see the group's basics too.
    for (const memberGroup of this.userGroups.get(user.id)?.keys() ?? []) {
      if (this.groupAncestors(memberGroup).some((ancestor) => ancestor.id === group.id)) return true;
    }
    for (const memberProject of this.userProjects.get(user.id)?.keys() ?? []) {
      const project = this.projects.get(memberProject);
      if (project === undefined || !this.groups.has(project.namespace_id)) continue;
      if (this.groupAncestors(project.namespace_id).some((ancestor) => ancestor.id === group.id)) return true;
    }
    return false;
  }

  /** Project ids the user holds at least `minLevel` on (direct or through a group), ascending. */
  memberProjectIds(userId: number, minLevel: number): number[] {
    const found = new Set<number>();
    for (const [projectId, level] of this.userProjects.get(userId) ?? []) {
      if (level >= minLevel) found.add(projectId);
    }
    for (const [groupId, level] of this.userGroups.get(userId) ?? []) {
      if (level < minLevel || !this.groups.has(groupId)) continue;
      for (const id of [groupId, ...this.descendantGroups(groupId)]) {
        for (const projectId of this.projectsByNamespace.get(id)?.values() ?? []) found.add(projectId);
      }
    }
    return [...found].sort((a, b) => a - b);
  }

  /** Group ids the user holds at least `minLevel` on, inherited included, ascending. */
  memberGroupIds(userId: number, minLevel: number): number[] {
    const found = new Set<number>();
    for (const [groupId, level] of this.userGroups.get(userId) ?? []) {
      if (level < minLevel || !this.groups.has(groupId)) continue;
      found.add(groupId);
      for (const id of this.descendantGroups(groupId)) found.add(id);
    }
    return [...found].sort((a, b) => a - b);
  }

  // ---- agents, files, jobs, audit events ----

  addAgent(projectId: number, name: string, createdByUserId: number | null = null): SimAgent {
    this.requireProject(projectId);
    for (const agentId of this.agentsByProject.get(projectId) ?? []) {
      if (this.agents.get(agentId)?.name === name)
        throw new Error(`agent ${name} exists in project ${projectId}`);
    }
    const agent: SimAgent = {
      id: this.nextAgentId++,
      name,
      project_id: projectId,
      created_at: this.clock(),
      created_by_user_id: createdByUserId,
    };
    this.agents.set(agent.id, agent);
    setOf(this.agentsByProject, projectId).add(agent.id);
    return agent;
  }

  removeAgent(agentId: number): SimAgent {
    const agent = this.agents.get(agentId);
    if (agent === undefined) throw new Error(`no agent ${agentId}`);
    this.agents.delete(agentId);
    this.agentsByProject.get(agent.project_id)?.delete(agentId);
    return agent;
  }

  setFile(
    projectId: number,
    path: string,
    content: string | null,
  ): "added" | "modified" | "removed" | "unchanged" {
    this.requireProject(projectId);
    const files = mapOf(this.files, projectId);
    const before = files.get(path);
    if (content === null) {
      if (before === undefined) return "unchanged";
      files.delete(path);
      return "removed";
    }
    files.set(path, content);
    return before === undefined ? "added" : before === content ? "unchanged" : "modified";
  }

  addJob(input: { project_id: number; user_id: number; ref?: string; status?: string }): SimJob {
    this.requireProject(input.project_id);
    this.requireUser(input.user_id);
    const id = this.nextJobId++;
    const job: SimJob = {
      id,
      project_id: input.project_id,
      user_id: input.user_id,
      pipeline_id: 1000 + id,
      ref: input.ref ?? "main",
      status: input.status ?? "running",
      token: `glcbt-${randomBytes(15).toString("base64url")}`,
    };
    this.jobs.set(id, job);
    this.tokens.set(job.token, {
      kind: "job",
      user_id: job.user_id,
      job_id: id,
      expired: false,
      revoked: false,
      scopes: [],
    });
    return job;
  }

  recordAuditEvent(input: Omit<SimAuditEvent, "id" | "created_at">): SimAuditEvent {
    const event: SimAuditEvent = { id: this.nextAuditEventId++, created_at: this.clock(), ...input };
    if (input.entity_type === "Project") {
      const list = this.auditEvents.get(input.entity_id) ?? [];
      list.push(event);
      this.auditEvents.set(input.entity_id, list);
    }
    return event;
  }

  // ---- lookups ----

  /** A group by id or URL-decoded full path. */
  findGroup(idOrPath: string): SimGroup | undefined {
    if (/^\d+$/.test(idOrPath)) return this.groups.get(Number(idOrPath));
    let parent: ParentKey = "root";
    let found: number | undefined;
    for (const segment of idOrPath.split("/")) {
      found = this.groupChildren.get(parent)?.get(segment);
      if (found === undefined) return undefined;
      parent = found;
    }
    return found === undefined ? undefined : this.groups.get(found);
  }

  /** A project by id or URL-decoded full path. */
  findProject(idOrPath: string): SimProject | undefined {
    if (/^\d+$/.test(idOrPath)) return this.projects.get(Number(idOrPath));
    const slash = idOrPath.lastIndexOf("/");
    if (slash < 0) return undefined;
    const namespacePath = idOrPath.slice(0, slash);
    const userId = this.usersByUsername.get(namespacePath);
    const namespaceId =
      userId !== undefined ? this.users.get(userId)?.namespace_id : this.findGroup(namespacePath)?.id;
    if (namespaceId === undefined) return undefined;
    const projectId = this.projectsByNamespace.get(namespaceId)?.get(idOrPath.slice(slash + 1));
    return projectId === undefined ? undefined : this.projects.get(projectId);
  }

  isNamespace(namespaceId: number): boolean {
    return this.groups.has(namespaceId) || this.userNamespaces.has(namespaceId);
  }

  requireUser(userId: number): SimUser {
    const user = this.users.get(userId);
    if (user === undefined) throw new Error(`no user ${userId}`);
    return user;
  }

  requireGroup(groupId: number): SimGroup {
    const group = this.groups.get(groupId);
    if (group === undefined) throw new Error(`no group ${groupId}`);
    return group;
  }

  requireProject(projectId: number): SimProject {
    const project = this.projects.get(projectId);
    if (project === undefined) throw new Error(`no project ${projectId}`);
    return project;
  }

  private requireNamespace(namespaceId: number): void {
    if (!this.isNamespace(namespaceId)) throw new Error(`no namespace ${namespaceId}`);
  }

  private childMap(parent: ParentKey): Map<string, number> {
    return mapOf(this.groupChildren, parent);
  }

  private namespaceProjects(namespaceId: number): Map<string, number> {
    return mapOf(this.projectsByNamespace, namespaceId);
  }
}

function mapOf<K, IK, V>(outer: Map<K, Map<IK, V>>, key: K): Map<IK, V> {
  let inner = outer.get(key);
  if (inner === undefined) {
    inner = new Map();
    outer.set(key, inner);
  }
  return inner;
}

function setOf<K, V>(outer: Map<K, Set<V>>, key: K): Set<V> {
  let inner = outer.get(key);
  if (inner === undefined) {
    inner = new Set();
    outer.set(key, inner);
  }
  return inner;
}
