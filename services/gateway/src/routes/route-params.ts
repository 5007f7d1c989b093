/**
 * Fastify's route generics for the gateway's path parameters, named after the resource the path
 * ends on. Each value is the raw segment as Fastify decoded it: the route parses it
 * (`visibleProject`, `integerParam`, `parseNumericId`), because GitLab answers a malformed id
 * differently from one route to the next.
 */

/** `/api/v4/{projects,groups,users,personal_access_tokens}/:id…`: an id or a URL-encoded full path. */
export type IdParams = { Params: { id: string } };

/** `/api/v4/projects/:id/cluster_agents/:agent_id…` */
export type AgentParams = { Params: { id: string; agent_id: string } };

/** `…/cluster_agents/:agent_id/tokens/:token_id` and `…/collector_tokens/:token_id`. */
export type AgentTokenParams = { Params: { id: string; agent_id: string; token_id: string } };

/** `/api/v4/projects/:id/jobs/:job_id…` */
export type JobParams = { Params: { id: string; job_id: string } };

/** `/api/v4/projects/:id/audit_events/:audit_event_id` */
export type AuditEventParams = { Params: { id: string; audit_event_id: string } };

/** `/api/v4/{groups,projects}/:id/members/:user_id` */
export type MemberParams = { Params: { id: string; user_id: string } };
