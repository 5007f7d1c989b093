import { z } from "zod";
import { AgentConfigPutResultSchema } from "./agent-config.ts";
import { ERROR_CODES, type ErrorCode } from "./errors.ts";
import { ClientIpAddressSchema, REFUSED_AGENT_NAME_MAX_CHARS } from "./events.ts";
import { MIRROR_COMMANDS } from "./mirror-commands.ts";
import {
  AccessLevelSchema,
  AGENT_TOKEN_KINDS,
  AgentSchema,
  AgentTokenSchema,
  atMostChars,
  CalendarDateSchema,
  GroupSchema,
  JobSchema,
  MembershipSchema,
  PathSchema,
  PersonalAccessTokenSchema,
  ProjectSchema,
  UserSchema,
} from "./registry.ts";
import { PERSONAL_ACCESS_TOKEN_SCOPES } from "./tokens.ts";

/**
 * Commands to the authz service: NATS request/reply on `<root>.cmd.authz.<name>`. The gateway
 * authenticates the caller and forwards `actor_user_id`; authz checks roles against its own
 * registry (it is the authority) and answers with a `CommandReply`.
 */

const Id = z.number().int().positive();
/**
 * The acting user, and the client address the gateway read for the request (GitLab's audit
 * `ip_address`), which authz copies into the audited events it causes.
 */
const Actor = { actor_user_id: Id, actor_ip_address: ClientIpAddressSchema.optional() };

const AgentTokenPublicSchema = AgentTokenSchema.omit({ token_sha256: true });
const PersonalAccessTokenPublicSchema = PersonalAccessTokenSchema.omit({ token_sha256: true });
const JobPublicSchema = JobSchema.omit({ token_sha256: true });

/** Minting and revoking an agent credential: agent tokens and collector tokens alike. */
const CreateAgentCredential = {
  request: z.object({
    ...Actor,
    project_id: Id,
    agent_id: Id,
    // Characters, as GitLab's model and the gateway count them (not UTF-16 units).
    name: atMostChars(255, z.string().min(1)),
    description: atMostChars(1024).nullable().optional(),
  }),
  result: z.object({ token: AgentTokenPublicSchema, plaintext: z.string() }),
};
const RevokeAgentCredential = {
  request: z.object({ ...Actor, project_id: Id, agent_id: Id, token_id: Id }),
  result: AgentTokenPublicSchema,
};

export const AUTHZ_COMMANDS = {
  "group.create": {
    request: z.object({
      ...Actor,
      name: z.string().min(1).max(255),
      path: PathSchema,
      parent_id: Id.nullable().optional(),
      description: z.string().nullable().optional(),
    }),
    result: GroupSchema,
  },
  "group.transfer": {
    request: z.object({ ...Actor, group_id: Id, parent_id: Id.nullable() }),
    result: GroupSchema,
  },
  "project.create": {
    request: z.object({
      ...Actor,
      name: z.string().min(1).max(255),
      path: PathSchema,
      /** null (or absent): the actor's personal namespace, GitLab's default. */
      namespace_id: Id.nullable().default(null),
      description: z.string().nullable().optional(),
    }),
    result: ProjectSchema,
  },
  "project.transfer": {
    request: z.object({ ...Actor, project_id: Id, namespace_id: Id }),
    result: ProjectSchema,
  },
  "user.create": {
    request: z.object({
      ...Actor,
      username: z.string().min(1).max(255),
      name: z.string().min(1).max(255),
      is_admin: z.boolean().default(false),
    }),
    result: UserSchema,
  },
  "membership.set": {
    request: z.object({
      ...Actor,
      source_type: z.enum(["group", "project"]),
      source_id: Id,
      user_id: Id,
      /** null removes the membership. */
      access_level: AccessLevelSchema.nullable(),
      /**
       * How the user's direct membership on the source is treated: `update` sets its level or
       * adds one; `refuse` is GitLab's `POST …/members` (an existing one is `409 Member already
       * exists`); `require` is GitLab's `PUT …/members/:user_id` (only an existing one changes,
       * none is `404 Not found`).
       */
      existing: z.enum(["update", "refuse", "require"]).default("update"),
    }),
    result: MembershipSchema,
  },
  "personal_access_token.create": {
    request: z.object({
      ...Actor,
      user_id: Id,
      name: z.string().min(1).max(255),
      scopes: z.array(z.enum(PERSONAL_ACCESS_TOKEN_SCOPES)).min(1).default(["api"]),
      /** `YYYY-MM-DD`: the token works until the end of the day before (UTC); null = never expires. */
      expires_at: CalendarDateSchema.nullable().default(null),
    }),
    result: z.object({ token: PersonalAccessTokenPublicSchema, plaintext: z.string() }),
  },
  /**
   * GitLab's `DELETE /personal_access_tokens/:id`: the owner or an admin; revoking a revoked
   * token succeeds unchanged. Anyone else gets `404 Not found`, as for a token that does not exist.
   */
  "personal_access_token.revoke": {
    request: z.object({ ...Actor, token_id: Id }),
    result: PersonalAccessTokenPublicSchema,
  },
  /**
   * GitLab's `POST /users/:id/block` (`state: "blocked"`) and `/unblock` (`"active"`): admins
   * only, never on themselves. `changed` is false when the user already was in that state.
   */
  "user.set_state": {
    request: z.object({ ...Actor, user_id: Id, state: z.enum(["active", "blocked"]) }),
    result: z.object({ user: UserSchema, changed: z.boolean() }),
  },
  "agent.create": {
    /**
     * The name as the user sent it: authz validates it (`AgentNameSchema`), so a refused name is
     * audited (`cluster_agent_create_failed`) as GitLab's model validation is.
     */
    request: z.object({ ...Actor, project_id: Id, name: z.string().max(REFUSED_AGENT_NAME_MAX_CHARS) }),
    result: AgentSchema,
  },
  "agent.delete": {
    request: z.object({ ...Actor, project_id: Id, agent_id: Id }),
    result: AgentSchema,
  },
  "agent_token.create": CreateAgentCredential,
  "agent_token.revoke": RevokeAgentCredential,
  /**
   * The collector presents its agent token (as agentk does to KAS) or a collector token
   * (`kmcol-`, issue 9 item 5); no actor. `token_kind` says which one it was.
   * `lease_expires_at` (issue 9): the collector must present the token again before then, or
   * stop publishing; for a GitLab agent token it is GitLab's last yes + the permission TTL, for
   * Kasmap's own tokens the authentication + authz's lease. Absent from an authz that predates
   * leases (no lease then).
   */
  "agent_token.authenticate": {
    request: z.object({ token: z.string().min(1).max(1024) }),
    result: z.object({
      agent_id: Id,
      token_id: Id,
      project_id: Id,
      token_kind: z.enum(AGENT_TOKEN_KINDS),
      lease_expires_at: z.iso.datetime({ offset: true }).optional(),
    }),
  },
  // Collector tokens (issue 9 item 5): Kasmap's own credential for a collector, `kmcol-`, so an
  // agent GitLab owns (GitLab mode) can have a collector without GitLab's agent token. Listed
  // from the read model (`read_model.agent_tokens` where kind = 'collector'), as agent tokens.
  /**
   * Maintainer+ (`admin_cluster`) on the agent's project; at most two active collector tokens per
   * agent. The plaintext is in this reply only; only its SHA-256 is stored or published.
   */
  "collector_token.create": CreateAgentCredential,
  /** Maintainer+; revoking a revoked collector token succeeds unchanged (as agent tokens: 204). */
  "collector_token.revoke": RevokeAgentCredential,
  /**
   * Body of `.gitlab/agents/<name>/config.yaml`, as YAML text. Over `AGENT_CONFIG_MAX_BYTES`
   * (256 KiB) it is refused `payload_too_large` by the handler, which names the limit (a zod
   * `max` here would answer a less helpful 400); NATS `max_payload` bounds the request anyway.
   *
   * `on_refusal`: `reject` (REST writes: a too large or invalid file is an error reply and
   * nothing changes) or `record` (a file that already exists somewhere and cannot be refused,
   * as in GitLab mode: the refusal is published as `config_refused` with the previous grants,
   * which stay in force, and the reply carries `refusal`). The gateway never sets `record`.
   */
  "agent_config.put": {
    request: z.object({
      ...Actor,
      project_id: Id,
      agent_id: Id,
      yaml: z.string(),
      on_refusal: z.enum(["reject", "record"]).default("reject"),
    }),
    result: AgentConfigPutResultSchema,
  },
  "job.create": {
    request: z.object({
      ...Actor,
      project_id: Id,
      pipeline_id: Id.optional(),
      ref: z.string().min(1).default("main"),
      ref_protected: z.boolean().nullable().default(null),
      environment: z
        .object({
          name: z.string().min(1),
          tier: z.string().min(1).default("other"),
          slug: z.string().min(1).optional(),
        })
        .nullable()
        .optional(),
    }),
    result: z.object({ job: JobPublicSchema, plaintext: z.string() }),
  },
  /** Ends a job: its token stops working. Developer+ on the project; finishing twice is a no-op. */
  "job.finish": {
    request: z.object({ ...Actor, project_id: Id, job_id: Id }),
    result: JobPublicSchema,
  },
  /**
   * The authz outbox, for readiness and metrics: events committed but not yet published, the age
   * of the oldest of them (seconds; null when none waits), and rows set aside for good because
   * they can never be published (each logged when set aside; more than zero needs an operator).
   * No actor: counts only, it names no registry data.
   */
  "outbox.status": {
    request: z.object({}),
    result: z.object({
      pending: z.number().int().min(0),
      oldest_pending_age_seconds: z.number().min(0).nullable(),
      set_aside: z.number().int().min(0),
    }),
  },
  ...MIRROR_COMMANDS,
} as const;
export type AuthzCommandName = keyof typeof AUTHZ_COMMANDS;
export type AuthzCommandRequest<N extends AuthzCommandName> = z.input<(typeof AUTHZ_COMMANDS)[N]["request"]>;
export type AuthzCommandParsedRequest<N extends AuthzCommandName> = z.output<
  (typeof AUTHZ_COMMANDS)[N]["request"]
>;
export type AuthzCommandResult<N extends AuthzCommandName> = z.output<(typeof AUTHZ_COMMANDS)[N]["result"]>;

/**
 * Where an event sits in the log: the JetStream stream name and the sequence there (the one
 * declaration). A command returns the positions its events were stored at; the gateway waits
 * for the projection to pass them.
 */
export const StreamPositionSchema = z.object({ stream: z.string(), seq: z.number().int().nonnegative() });
export type StreamPosition = z.infer<typeof StreamPositionSchema>;

export const CommandErrorSchema = z.object({
  code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
  message: z.string(),
  fields: z.record(z.string(), z.array(z.string())).optional(),
});

export const CommandReplySchema = z.discriminatedUnion("ok", [
  z.object({ ok: z.literal(true), result: z.unknown(), positions: z.array(StreamPositionSchema) }),
  z.object({ ok: z.literal(false), error: CommandErrorSchema }),
]);
export type CommandReply = z.infer<typeof CommandReplySchema>;
