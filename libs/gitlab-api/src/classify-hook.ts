import {
  AuditStreamingEventSchema,
  ClusterAgentAuditEventTypes,
  GroupHookSchema,
  GroupSystemHookEvents,
  ProjectHookSchema,
  ProjectSystemHookEvents,
  PushHookSchema,
  RepositoryUpdateHookSchema,
  SubgroupHookSchema,
  SubgroupWebhookEvents,
} from "./hooks.ts";

/**
 * What a GitLab notification says changed. GitLab stays the truth: the consumer re-reads the
 * named thing and mirrors (or removes) it; the notification is only the reason to look.
 */
export type HookChange =
  | { kind: "project"; id: number }
  | { kind: "group"; id: number }
  /** Agent config files on the default branch changed; `paths` null = unknown, re-read all. */
  | { kind: "agent_config"; project_id: number; paths: string[] | null }
  /** The project's agents (or their tokens) changed. */
  | { kind: "project_agents"; project_id: number }
  | { kind: "ignored"; reason: string }
  /** Not a GitLab notification Kasmap can read: dead-letter it with `reason`. */
  | { kind: "invalid"; reason: string };

export interface HookSource {
  /** `hook` (system hook or webhook) or `audit` (audit event streaming). */
  source: "hook" | "audit";
  /** The `X-Gitlab-Event` header, when there was one (`System Hook`, `Push Hook` …). */
  gitlabEvent?: string | null;
}

const AGENTS_DIRECTORY = ".gitlab/agents/";
const ZERO_SHA = /^0+$/;

/** Pure: never throws; unknown events are `ignored`, unreadable payloads `invalid`. */
export function classifyHook(from: HookSource, payload: unknown): HookChange {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    return {
      kind: "invalid",
      reason: `payload is ${Array.isArray(payload) ? "an array" : typeof payload}, not an object`,
    };
  }
  const body = payload as Record<string, unknown>;
  return from.source === "audit" ? classifyAuditEvent(body) : classifyHookPayload(body);
}

function classifyAuditEvent(body: Record<string, unknown>): HookChange {
  const eventType = body.event_type;
  if (typeof eventType !== "string") return { kind: "invalid", reason: "audit event without event_type" };
  if (!(ClusterAgentAuditEventTypes as readonly string[]).includes(eventType)) {
    return { kind: "ignored", reason: `audit event ${eventType} does not concern agents` };
  }
  const parsed = AuditStreamingEventSchema.safeParse(body);
  if (!parsed.success)
    return { kind: "invalid", reason: `audit event ${eventType}: ${firstIssue(parsed.error)}` };
  if (parsed.data.entity_type !== "Project") {
    return { kind: "ignored", reason: `audit event ${eventType} on entity ${parsed.data.entity_type}` };
  }
  return { kind: "project_agents", project_id: parsed.data.entity_id };
}

function classifyHookPayload(body: Record<string, unknown>): HookChange {
  const eventName = typeof body.event_name === "string" ? body.event_name : null;
  const objectKind = typeof body.object_kind === "string" ? body.object_kind : null;
  const name = eventName ?? objectKind;
  if (name === null) return { kind: "invalid", reason: "payload has neither event_name nor object_kind" };

  if ((ProjectSystemHookEvents as readonly string[]).includes(name)) {
    const parsed = ProjectHookSchema.safeParse(body);
    return parsed.success
      ? { kind: "project", id: parsed.data.project_id }
      : { kind: "invalid", reason: `${name}: ${firstIssue(parsed.error)}` };
  }
  if ((GroupSystemHookEvents as readonly string[]).includes(name)) {
    const parsed = GroupHookSchema.safeParse(body);
    return parsed.success
      ? { kind: "group", id: parsed.data.group_id }
      : { kind: "invalid", reason: `${name}: ${firstIssue(parsed.error)}` };
  }
  if ((SubgroupWebhookEvents as readonly string[]).includes(name)) {
    const parsed = SubgroupHookSchema.safeParse(body);
    return parsed.success
      ? { kind: "group", id: parsed.data.group_id }
      : { kind: "invalid", reason: `${name}: ${firstIssue(parsed.error)}` };
  }
  if (name === "push") return classifyPush(body);
  if (name === "repository_update") {
    const parsed = RepositoryUpdateHookSchema.safeParse(body);
    if (!parsed.success) return { kind: "invalid", reason: `repository_update: ${firstIssue(parsed.error)}` };
    const defaultBranch = parsed.data.project?.default_branch;
    const defaultRef = defaultBranch ? `refs/heads/${defaultBranch}` : null;
    if (defaultRef !== null && !parsed.data.refs.includes(defaultRef)) {
      return { kind: "ignored", reason: "repository_update not on the default branch" };
    }
    return { kind: "agent_config", project_id: parsed.data.project_id, paths: null };
  }
  return { kind: "ignored", reason: `event ${name} does not change what Kasmap mirrors` };
}

function classifyPush(body: Record<string, unknown>): HookChange {
  const parsed = PushHookSchema.safeParse(body);
  if (!parsed.success) return { kind: "invalid", reason: `push: ${firstIssue(parsed.error)}` };
  const push = parsed.data;
  const defaultBranch = push.project?.default_branch;
  // Agent configs are read from the default branch only; without it named, assume it may be.
  if (defaultBranch && push.ref !== `refs/heads/${defaultBranch}`) {
    return { kind: "ignored", reason: `push to ${push.ref}, not the default branch` };
  }
  const listedAll = push.total_commits_count === undefined || push.total_commits_count <= push.commits.length;
  const branchCreatedOrDeleted = ZERO_SHA.test(push.before ?? "") || ZERO_SHA.test(push.after ?? "");
  if (!listedAll || branchCreatedOrDeleted)
    return { kind: "agent_config", project_id: push.project_id, paths: null };
  const paths = new Set<string>();
  for (const commit of push.commits) {
    for (const path of [...commit.added, ...commit.modified, ...commit.removed]) {
      if (path.startsWith(AGENTS_DIRECTORY)) paths.add(path);
    }
  }
  if (paths.size === 0) return { kind: "ignored", reason: "push changed no file under .gitlab/agents/" };
  return { kind: "agent_config", project_id: push.project_id, paths: [...paths].sort() };
}

function firstIssue(error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> }): string {
  const issue = error.issues[0];
  if (issue === undefined) return "invalid payload";
  return `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`;
}
