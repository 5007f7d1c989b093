import { z } from "zod";
import {
  AuthorizationExplanationSchema,
  CreateJobBodySchema,
  ExplainAuthorizationQuerySchema,
  JobAllowedAgentsResponseSchema,
  JobCreatedResponseSchema,
  JobResponseSchema,
  ProjectAllowedAgentsResponseSchema,
} from "./allowed-agents.ts";
import {
  AuditEventResponseSchema,
  ClusterInfoAtQuerySchema,
  ClusterInfoHistoryEntrySchema,
  EventStreamQuerySchema,
  InstanceAuditEventsQuerySchema,
  LiveTicketResponseSchema,
  ProjectAuditEventsQuerySchema,
} from "./audit-events.ts";
import { ClusterInfoSchema } from "./cluster-info.ts";
import {
  ClusterLookupEntrySchema,
  ClusterLookupQuerySchema,
  DeployableBySchema,
  GroupClusterAgentsQuerySchema,
} from "./inventory-and-lookup.ts";
import {
  AgentResponseSchema,
  AgentTokenCreatedResponseSchema,
  AgentTokenResponseSchema,
  AgentTokenWithLastUsedResponseSchema,
  AgentWithClusterInfoResponseSchema,
  CollectorTokenCreatedResponseSchema,
  CollectorTokenResponseSchema,
  CreateAgentBodySchema,
  CreateAgentTokenBodySchema,
  CreateGroupBodySchema,
  CreateProjectBodySchema,
  TransferGroupBodySchema,
  TransferProjectBodySchema,
  WithClusterInfoQuerySchema,
} from "./rest.ts";
import {
  AddMemberBodySchema,
  AgentConfigurationJsonBodySchema,
  AgentConfigurationResultSchema,
  CreatePersonalAccessTokenBodySchema,
  CreateUserBodySchema,
  GroupResponseSchema,
  GroupsListQuerySchema,
  MemberResponseSchema,
  MembersQuerySchema,
  PersonalAccessTokenCreatedResponseSchema,
  PersonalAccessTokenSelfResponseSchema,
  ProjectResponseSchema,
  ReadinessResponseSchema,
  UpdateMemberBodySchema,
  UserResponseSchema,
} from "./rest-documented.ts";
import { ClusterExpectationsSchema, VerificationResultSchema } from "./verification.ts";

/**
 * The gateway's routes as one table: adding a route is one entry here. The OpenAPI document is
 * built from it, and a gateway test fails when a registered route has no entry.
 * Paths use Fastify's `:param` form, exactly as the gateway registers them.
 */

export const HTTP_METHODS = ["get", "post", "put", "delete"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** A schema with the name it gets under `components.schemas`. */
export type NamedSchema = { readonly name: string; readonly schema: z.ZodType };
const named = (name: string, schema: z.ZodType): NamedSchema => ({ name, schema });

/**
 * Who answers a route when Kasmap runs beside GitLab (`KASMAP_GITLAB_URL` set; docs/gitlab-mode.md):
 * - `kasmap`: Kasmap's own (a path GitLab does not have), with GitLab deciding the caller's access;
 * - `forward`: GitLab's path — forwarded to GitLab unchanged (Kasmap's standalone handler is not used);
 * - `enrich`: forwarded with the caller's credentials; with `?with_cluster_info=true` each agent
 *   in GitLab's 200 answer gains `cluster_info` from the read model.
 * Standalone mode serves every route itself, whatever this says.
 */
export const GITLAB_MODES = ["kasmap", "forward", "enrich"] as const;
export type GitLabMode = (typeof GITLAB_MODES)[number];

/** Kasmap-only paths: served in both modes, on a prefix GitLab never uses (`/-/` is not a GitLab API segment). */
export const KASMAP_ONLY_PREFIX = "/api/v4/-/kasmap";

export type RestRoute = {
  readonly method: HttpMethod;
  readonly path: string;
  readonly gitlabMode: GitLabMode;
  readonly tag: string;
  readonly summary: string;
  /** false for operations endpoints and documents; others take PRIVATE-TOKEN / Bearer / JOB-TOKEN. */
  readonly authenticated: boolean;
  readonly query?: z.ZodObject;
  /** GitLab takes these as JSON, form fields or query parameters alike. */
  readonly body?: NamedSchema;
  /** Extra request media types whose body is the raw text (YAML configuration). */
  readonly rawBodyTypes?: readonly string[];
  /** Success status and its body; `null` body = no content. */
  readonly success: { status: number; body: NamedSchema | null; list?: boolean; mediaType?: string };
  /** GitLab's offset pagination: `page`/`per_page` and the `X-Total`… headers. */
  readonly paginated?: boolean;
};

const Agent = named("Agent", AgentResponseSchema);
const AgentToken = named("AgentToken", AgentTokenResponseSchema);
const Group = named("Group", GroupResponseSchema);
const Project = named("Project", ProjectResponseSchema);
const Member = named("Member", MemberResponseSchema);
const AddMember = named("AddMember", AddMemberBodySchema);
const UpdateMember = named("UpdateMember", UpdateMemberBodySchema);
const Text = named("Text", z.string());
const AuditEvent = named("AuditEvent", AuditEventResponseSchema);
const JsonDocument = named("JsonDocument", z.record(z.string(), z.unknown()));
/** GitLab's block/unblock answer: `true` when the state changed, else what its code returns. */
const UserStateChanged = named("UserStateChanged", z.boolean().nullable());
const agentOrWithInfo = named(
  "AgentMaybeWithClusterInfo",
  z.union([AgentResponseSchema, AgentWithClusterInfoResponseSchema]),
);

const AGENTS = "/api/v4/projects/:id/cluster_agents";
const TOKENS = `${AGENTS}/:agent_id/tokens`;
const COLLECTOR_TOKENS = `${AGENTS}/:agent_id/collector_tokens`;
const YAML_TYPES = ["application/yaml", "application/x-yaml", "text/yaml", "text/plain"] as const;

/**
 * GitLab's members API: the same six routes under `/groups/:id` and `/projects/:id` (`source`
 * is the singular).
 */
function membersRoutes(source: "group" | "project"): RestRoute[] {
  const members = `/api/v4/${source}s/:id/members`;
  // biome-ignore format: one route per line, as in the catalogue
  return [
    { method: "get", path: members, gitlabMode: "forward", tag: "members", summary: `List a ${source}'s direct members (anyone who may see the ${source}); query, user_ids`, authenticated: true, query: MembersQuerySchema, paginated: true, success: { status: 200, body: Member, list: true } },
    { method: "get", path: `${members}/all`, gitlabMode: "forward", tag: "members", summary: `List a ${source}'s members with those inherited from the groups above, each at their highest level`, authenticated: true, query: MembersQuerySchema, paginated: true, success: { status: 200, body: Member, list: true } },
    { method: "get", path: `${members}/:user_id`, gitlabMode: "forward", tag: "members", summary: `Get a direct member of the ${source} (404 Not found for anyone else)`, authenticated: true, success: { status: 200, body: Member } },
    { method: "get", path: `${members}/all/:user_id`, gitlabMode: "forward", tag: "members", summary: `Get a member of the ${source}, inherited membership included`, authenticated: true, success: { status: 200, body: Member } },
    { method: "post", path: members, gitlabMode: "forward", tag: "members", summary: `Add a ${source} member (409 when already a direct member)`, authenticated: true, body: AddMember, success: { status: 201, body: Member } },
    { method: "put", path: `${members}/:user_id`, gitlabMode: "forward", tag: "members", summary: `Change a direct ${source} member's access level (404 for a non-member)`, authenticated: true, body: UpdateMember, success: { status: 200, body: Member } },
  ];
}

// biome-ignore format: one route per line keeps the catalogue readable as a table
export const REST_ROUTES: readonly RestRoute[] = [
  { method: "get", path: "/-/health", gitlabMode: "kasmap", tag: "operations", summary: "Liveness: the process answers", authenticated: false, success: { status: 200, body: Text, mediaType: "text/plain" } },
  { method: "get", path: "/-/readiness", gitlabMode: "kasmap", tag: "operations", summary: "Readiness: NATS connected and PostgreSQL answering (503 otherwise)", authenticated: false, success: { status: 200, body: named("Readiness", ReadinessResponseSchema) } },
  { method: "get", path: "/metrics", gitlabMode: "kasmap", tag: "operations", summary: "Prometheus metrics", authenticated: false, success: { status: 200, body: Text, mediaType: "text/plain" } },
  { method: "post", path: "/api/v4/-/gitlab/hooks", gitlabMode: "kasmap", tag: "gitlab_mode", summary: "GitLab mode: receives GitLab system hooks and project/group webhooks (X-Gitlab-Token = KASMAP_GITLAB_HOOK_SECRET, else 401), stored for the mirror before 200; 404 in standalone mode", authenticated: false, body: named("GitLabDelivery", z.record(z.string(), z.unknown())), success: { status: 200, body: JsonDocument } },
  { method: "post", path: "/api/v4/-/gitlab/audit-events", gitlabMode: "kasmap", tag: "gitlab_mode", summary: "GitLab mode: receives GitLab audit event streaming (X-Gitlab-Event-Streaming-Token = KASMAP_GITLAB_STREAMING_TOKEN, else 401), stored for the mirror before 200; 404 in standalone mode", authenticated: false, body: named("GitLabDelivery", z.record(z.string(), z.unknown())), success: { status: 200, body: JsonDocument } },
  { method: "get", path: "/api/v4/openapi.json", gitlabMode: "kasmap", tag: "documents", summary: "This OpenAPI document", authenticated: false, success: { status: 200, body: JsonDocument } },
  { method: "get", path: "/api/v4/asyncapi.json", gitlabMode: "kasmap", tag: "documents", summary: "The AsyncAPI document of the NATS subjects", authenticated: false, success: { status: 200, body: JsonDocument } },
  { method: "get", path: "/api/v4/docs", gitlabMode: "kasmap", tag: "documents", summary: "HTML page generated from this document", authenticated: false, success: { status: 200, body: Text, mediaType: "text/html" } },
  { method: "post", path: "/api/v4/groups", gitlabMode: "forward", tag: "groups", summary: "Create a group", authenticated: true, body: named("CreateGroup", CreateGroupBodySchema), success: { status: 201, body: Group } },
  { method: "get", path: "/api/v4/groups", gitlabMode: "forward", tag: "groups", summary: "List the groups the caller may see (administrators: all); search, owned, min_access_level, top_level_only, all_available, skip_groups, order_by, sort", authenticated: true, query: GroupsListQuerySchema, paginated: true, success: { status: 200, body: Group, list: true } },
  { method: "get", path: "/api/v4/groups/:id", gitlabMode: "forward", tag: "groups", summary: "Get a group", authenticated: true, success: { status: 200, body: Group } },
  { method: "post", path: "/api/v4/groups/:id/transfer", gitlabMode: "forward", tag: "groups", summary: "Move a group under another (or to the top level); re-evaluates the authorizations it touches", authenticated: true, body: named("TransferGroup", TransferGroupBodySchema), success: { status: 201, body: Group } },
  ...membersRoutes("group"),
  { method: "post", path: "/api/v4/projects", gitlabMode: "forward", tag: "projects", summary: "Create a project (in a group: namespace_id is required)", authenticated: true, body: named("CreateProject", CreateProjectBodySchema), success: { status: 201, body: Project } },
  { method: "get", path: "/api/v4/projects/:id", gitlabMode: "forward", tag: "projects", summary: "Get a project", authenticated: true, success: { status: 200, body: Project } },
  { method: "put", path: "/api/v4/projects/:id/transfer", gitlabMode: "forward", tag: "projects", summary: "Move a project to another group; re-evaluates the authorizations it touches", authenticated: true, body: named("TransferProject", TransferProjectBodySchema), success: { status: 200, body: Project } },
  ...membersRoutes("project"),
  { method: "get", path: "/api/v4/user", gitlabMode: "forward", tag: "users", summary: "The authenticated user", authenticated: true, success: { status: 200, body: named("User", UserResponseSchema) } },
  { method: "post", path: "/api/v4/users", gitlabMode: "forward", tag: "users", summary: "Create a user (admin)", authenticated: true, body: named("CreateUser", CreateUserBodySchema), success: { status: 201, body: named("User", UserResponseSchema) } },
  { method: "post", path: "/api/v4/users/:id/personal_access_tokens", gitlabMode: "forward", tag: "users", summary: "Create a personal access token for a user (admin)", authenticated: true, body: named("CreatePersonalAccessToken", CreatePersonalAccessTokenBodySchema), success: { status: 201, body: named("PersonalAccessTokenWithToken", PersonalAccessTokenCreatedResponseSchema) } },
  { method: "get", path: "/api/v4/personal_access_tokens/self", gitlabMode: "forward", tag: "users", summary: "The personal access token the request is made with (any scope; 400 for another kind of credential)", authenticated: true, success: { status: 200, body: named("PersonalAccessTokenSelf", PersonalAccessTokenSelfResponseSchema) } },
  { method: "delete", path: "/api/v4/personal_access_tokens/self", gitlabMode: "forward", tag: "users", summary: "Revoke the personal access token the request is made with (any scope): it stops working at once", authenticated: true, success: { status: 204, body: null } },
  { method: "delete", path: "/api/v4/personal_access_tokens/:id", gitlabMode: "forward", tag: "users", summary: "Revoke a personal access token (its owner or an admin; 404 for anyone else's, as for a missing one)", authenticated: true, success: { status: 204, body: null } },
  { method: "post", path: "/api/v4/users/:id/block", gitlabMode: "forward", tag: "users", summary: "Block a user (admin): their tokens and job tokens stop working; true, or null when already blocked", authenticated: true, success: { status: 201, body: UserStateChanged } },
  { method: "post", path: "/api/v4/users/:id/unblock", gitlabMode: "forward", tag: "users", summary: "Unblock a user (admin); true, or false when the user was not blocked", authenticated: true, success: { status: 201, body: UserStateChanged } },
  { method: "get", path: AGENTS, gitlabMode: "enrich", tag: "cluster_agents", summary: "List a project's agents", authenticated: true, query: WithClusterInfoQuerySchema, paginated: true, success: { status: 200, body: agentOrWithInfo, list: true } },
  { method: "post", path: AGENTS, gitlabMode: "forward", tag: "cluster_agents", summary: "Register an agent", authenticated: true, body: named("CreateAgent", CreateAgentBodySchema), success: { status: 201, body: Agent } },
  { method: "get", path: `${AGENTS}/:agent_id`, gitlabMode: "enrich", tag: "cluster_agents", summary: "Get an agent (with cluster_info on request)", authenticated: true, query: WithClusterInfoQuerySchema, success: { status: 200, body: agentOrWithInfo } },
  { method: "delete", path: `${AGENTS}/:agent_id`, gitlabMode: "forward", tag: "cluster_agents", summary: "Delete an agent", authenticated: true, success: { status: 204, body: null } },
  { method: "get", path: `${AGENTS}/:agent_id/cluster_info`, gitlabMode: "kasmap", tag: "cluster_agents", summary: "The agent's cluster_info (null until its collector reports); with ?at= the facts current then, without deployment_status", authenticated: true, query: ClusterInfoAtQuerySchema, success: { status: 200, body: named("ClusterInfoOrNull", ClusterInfoSchema.nullable()) } },
  { method: "put", path: `${AGENTS}/:agent_id/configuration`, gitlabMode: "forward", tag: "cluster_agents", summary: "Replace the agent's config.yaml (ci_access, user_access)", authenticated: true, body: named("AgentConfigurationJson", AgentConfigurationJsonBodySchema), rawBodyTypes: YAML_TYPES, success: { status: 200, body: named("AgentConfigurationResult", AgentConfigurationResultSchema) } },
  { method: "get", path: TOKENS, gitlabMode: "forward", tag: "agent_tokens", summary: "List an agent's active tokens", authenticated: true, paginated: true, success: { status: 200, body: AgentToken, list: true } },
  { method: "post", path: TOKENS, gitlabMode: "forward", tag: "agent_tokens", summary: "Create an agent token (plaintext returned once)", authenticated: true, body: named("CreateAgentToken", CreateAgentTokenBodySchema), success: { status: 201, body: named("AgentTokenWithToken", AgentTokenCreatedResponseSchema) } },
  { method: "get", path: `${TOKENS}/:token_id`, gitlabMode: "forward", tag: "agent_tokens", summary: "Get an agent token", authenticated: true, success: { status: 200, body: named("AgentTokenWithLastUsed", AgentTokenWithLastUsedResponseSchema) } },
  { method: "delete", path: `${TOKENS}/:token_id`, gitlabMode: "forward", tag: "agent_tokens", summary: "Revoke an agent token", authenticated: true, success: { status: 204, body: null } },
  { method: "get", path: COLLECTOR_TOKENS, gitlabMode: "kasmap", tag: "collector_tokens", summary: "List an agent's active collector tokens, without the tokens (Maintainer+; Kasmap extension)", authenticated: true, paginated: true, success: { status: 200, body: named("CollectorToken", CollectorTokenResponseSchema), list: true } },
  { method: "post", path: COLLECTOR_TOKENS, gitlabMode: "kasmap", tag: "collector_tokens", summary: "Create a collector token (kmcol-, shown once; at most two active per agent; Maintainer+; Kasmap extension)", authenticated: true, body: named("CreateCollectorToken", CreateAgentTokenBodySchema), success: { status: 201, body: named("CollectorTokenWithToken", CollectorTokenCreatedResponseSchema) } },
  { method: "delete", path: `${COLLECTOR_TOKENS}/:token_id`, gitlabMode: "kasmap", tag: "collector_tokens", summary: "Revoke a collector token: its collector can no longer authenticate (Maintainer+; Kasmap extension)", authenticated: true, success: { status: 204, body: null } },
  { method: "get", path: `${AGENTS}/:agent_id/deployable_by`, gitlabMode: "kasmap", tag: "incident_response", summary: "Who can deploy with the agent: ci_access groups, the projects the caller may see, and the count of all (Kasmap extension)", authenticated: true, success: { status: 200, body: named("DeployableBy", DeployableBySchema) } },
  { method: "get", path: "/api/v4/clusters/lookup", gitlabMode: "kasmap", tag: "incident_response", summary: "Agents whose cluster holds an IP (?ip=) or overlaps a range (?cidr=), with who can deploy there (Kasmap extension)", authenticated: true, query: ClusterLookupQuerySchema, paginated: true, success: { status: 200, body: named("ClusterLookupEntry", ClusterLookupEntrySchema), list: true } },
  { method: "post", path: `${AGENTS}/:agent_id/cluster_info/verify`, gitlabMode: "kasmap", tag: "incident_response", summary: "Check the agent's cluster against expected ranges and names (Kasmap extension)", authenticated: true, body: named("ClusterExpectations", ClusterExpectationsSchema), success: { status: 200, body: named("VerificationResult", VerificationResultSchema) } },
  { method: "get", path: "/api/v4/groups/:id/cluster_agents", gitlabMode: "kasmap", tag: "cluster_agents", summary: "Agents of a group (or its subtree), JSON pages or a CSV export (Kasmap extension)", authenticated: true, query: GroupClusterAgentsQuerySchema, paginated: true, success: { status: 200, body: agentOrWithInfo, list: true } },
  { method: "get", path: "/api/v4/projects/:id/audit_events", gitlabMode: "forward", tag: "audit_events", summary: "A project's audit events, newest first (Maintainer+; Kasmap adds agent_id and event_type filters); keyset pages with pagination=keyset (order_by=id, sort=desc)", authenticated: true, query: ProjectAuditEventsQuerySchema, paginated: true, success: { status: 200, body: AuditEvent, list: true } },
  { method: "get", path: "/api/v4/audit_events", gitlabMode: "forward", tag: "audit_events", summary: "Instance audit events, newest first (admins); keyset pages with pagination=keyset (order_by=id, sort=desc)", authenticated: true, query: InstanceAuditEventsQuerySchema, paginated: true, success: { status: 200, body: AuditEvent, list: true } },
  { method: "get", path: `${KASMAP_ONLY_PREFIX}/projects/:id/audit_events`, gitlabMode: "kasmap", tag: "audit_events", summary: "Kasmap's audit events of a project, as GET /projects/:id/audit_events answers in standalone mode (served in both modes; in GitLab mode that path is GitLab's)", authenticated: true, query: ProjectAuditEventsQuerySchema, paginated: true, success: { status: 200, body: AuditEvent, list: true } },
  { method: "get", path: `${KASMAP_ONLY_PREFIX}/audit_events`, gitlabMode: "kasmap", tag: "audit_events", summary: "Kasmap's instance audit events (admins), as GET /audit_events answers in standalone mode (served in both modes)", authenticated: true, query: InstanceAuditEventsQuerySchema, paginated: true, success: { status: 200, body: AuditEvent, list: true } },
  { method: "get", path: "/api/v4/projects/:id/audit_events/:audit_event_id", gitlabMode: "forward", tag: "audit_events", summary: "One audit event of the project (Maintainer+); 404 Not found for an id of another project", authenticated: true, success: { status: 200, body: AuditEvent } },
  { method: "get", path: "/api/v4/audit_events/:id", gitlabMode: "forward", tag: "audit_events", summary: "One instance audit event (admins); 404 Not found for an unknown id", authenticated: true, success: { status: 200, body: AuditEvent } },
  { method: "get", path: `${KASMAP_ONLY_PREFIX}/projects/:id/audit_events/:audit_event_id`, gitlabMode: "kasmap", tag: "audit_events", summary: "One of Kasmap's audit events of a project, as GET /projects/:id/audit_events/:audit_event_id answers in standalone mode (served in both modes)", authenticated: true, success: { status: 200, body: AuditEvent } },
  { method: "get", path: `${KASMAP_ONLY_PREFIX}/audit_events/:id`, gitlabMode: "kasmap", tag: "audit_events", summary: "One of Kasmap's instance audit events (admins), as GET /audit_events/:id answers in standalone mode (served in both modes)", authenticated: true, success: { status: 200, body: AuditEvent } },
  { method: "get", path: `${AGENTS}/:agent_id/cluster_info/history`, gitlabMode: "kasmap", tag: "audit_events", summary: "Every snapshot of the agent's cluster, newest first (Kasmap extension)", authenticated: true, paginated: true, success: { status: 200, body: named("ClusterInfoHistoryEntry", ClusterInfoHistoryEntrySchema), list: true } },
  { method: "get", path: "/api/v4/events/stream", gitlabMode: "kasmap", tag: "audit_events", summary: "Live events the caller may see, as Server-Sent Events; resumes after Last-Event-ID; ?ticket= (single use) instead of a credential header, for browsers (Kasmap extension)", authenticated: true, query: EventStreamQuerySchema, success: { status: 200, body: Text, mediaType: "text/event-stream" } },
  { method: "post", path: `${KASMAP_ONLY_PREFIX}/live/tickets`, gitlabMode: "kasmap", tag: "audit_events", summary: "A single-use ticket, valid 60 s, that opens one live event stream as the caller (GET /events/stream?ticket=): a browser's EventSource cannot send headers (Kasmap extension)", authenticated: true, success: { status: 201, body: named("LiveTicket", LiveTicketResponseSchema) } },
  { method: "get", path: "/-/console", gitlabMode: "kasmap", tag: "console", summary: "The Kasmap console: a web page that reads this API as the signed-in user (never forwarded to GitLab)", authenticated: false, success: { status: 200, body: Text, mediaType: "text/html" } },
  { method: "get", path: "/-/console/:file", gitlabMode: "kasmap", tag: "console", summary: "The console's scripts, styles and vendored libraries, by an allow-list (404 for anything else)", authenticated: false, success: { status: 200, body: Text, mediaType: "text/javascript" } },
  { method: "get", path: "/api/v4/job/allowed_agents", gitlabMode: "enrich", tag: "ci_access", summary: "Agents the calling CI job may use (JOB-TOKEN; GitLab's shape, cluster_info on request)", authenticated: true, query: WithClusterInfoQuerySchema, success: { status: 200, body: named("JobAllowedAgents", JobAllowedAgentsResponseSchema) } },
  { method: "get", path: "/api/v4/projects/:id/allowed_agents", gitlabMode: "kasmap", tag: "ci_access", summary: "Agents the project's CI may use, with the granting rule (Kasmap extension)", authenticated: true, query: WithClusterInfoQuerySchema, success: { status: 200, body: named("ProjectAllowedAgents", ProjectAllowedAgentsResponseSchema) } },
  { method: "get", path: `${AGENTS}/:agent_id/authorization/explain`, gitlabMode: "kasmap", tag: "ci_access", summary: "Why the project's CI may or may not use an agent, optionally for a job context (Kasmap extension)", authenticated: true, query: ExplainAuthorizationQuerySchema, success: { status: 200, body: named("AuthorizationExplanation", AuthorizationExplanationSchema) } },
  { method: "post", path: "/api/v4/projects/:id/jobs", gitlabMode: "forward", tag: "ci_access", summary: "Register a running CI job (token returned once; Kasmap extension)", authenticated: true, body: named("CreateJob", CreateJobBodySchema), success: { status: 201, body: named("JobCreated", JobCreatedResponseSchema) } },
  { method: "post", path: "/api/v4/projects/:id/jobs/:job_id/finish", gitlabMode: "forward", tag: "ci_access", summary: "Finish a registered CI job, ending its JOB-TOKEN (the job's own JOB-TOKEN, or Developer+; Kasmap extension)", authenticated: true, success: { status: 201, body: named("Job", JobResponseSchema) } },
];

/** Path parameter descriptions by the resource the segment before them names. */
export function pathParameterDescription(fullPath: string, name: string): string {
  // A Kasmap-only path names its resources as the GitLab path it mirrors does.
  const path = fullPath.startsWith(`${KASMAP_ONLY_PREFIX}/`)
    ? `/api/v4${fullPath.slice(KASMAP_ONLY_PREFIX.length)}`
    : fullPath;
  if (name === "agent_id") return "The ID of the agent";
  if (name === "token_id") return "The ID of the agent token";
  if (name === "job_id") return "The ID of the CI job";
  if (name === "user_id") return "The user ID of the member";
  if (name === "audit_event_id") return "The ID of the audit event";
  if (name === "file") return "A file of the console (an allow-list: anything else is 404)";
  if (path.startsWith("/api/v4/audit_events/")) return "The ID of the audit event";
  if (path.startsWith("/api/v4/personal_access_tokens/")) return "The ID of the personal access token";
  if (path.startsWith("/api/v4/projects/")) return "The ID or URL-encoded full path of the project";
  if (path.startsWith("/api/v4/groups/")) return "The ID or URL-encoded full path of the group";
  if (path.startsWith("/api/v4/users/")) return "The ID of the user";
  return name;
}
