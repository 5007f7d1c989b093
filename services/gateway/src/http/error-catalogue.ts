import { ERROR_CODES, type ErrorCode, isKasmapError, KasmapError } from "@kasmap/contracts";
import type { FastifyReply, FastifyRequest } from "fastify";
import { gitLabUnavailable } from "../access/gitlab-unavailable.ts";
import {
  accountBlocked,
  insufficientScope,
  tokenExpired,
  tokenNotFound,
  tokenRevoked,
} from "../auth/credential-errors.ts";
import { agentsNotFound } from "../permissions/project-role.ts";
import { gitLabErrorHandler } from "./error-handler.ts";
import { KEYSET_UNAVAILABLE } from "./keyset-pagination.ts";
import { failedToSaveGroup, failedToTransferProject, fullMessagesBadRequest } from "./model-errors.ts";
import { invalidParams } from "./request-params.ts";

/** One answer of the catalogue: when it happens, and the error a route throws for it. */
type CatalogueCase = { when: string; error: Error };

/** A Fastify client error as its parsers raise them (bad JSON, unsupported media type). */
function fastifyError(statusCode: number, code: string): Error {
  return Object.assign(new Error(code), { statusCode, code });
}

/**
 * Every error answer the gateway gives, one representative each, in the order of `ERROR_CODES`.
 * A code missing here fails the catalogue test (`errorCatalogue` checks every code is covered).
 */
const CASES: readonly CatalogueCase[] = [
  {
    when: "no credential, an unknown one, a finished job's token, a job token where GitLab takes none",
    error: new KasmapError("unauthorized", "Unauthorized"),
  },
  {
    when: "a live-stream `ticket` that is unknown, used already or older than 60 s (ask for a new one)",
    error: new KasmapError("unauthorized", "Unauthorized"),
  },
  {
    when: "an expired personal access token (also with `WWW-Authenticate`)",
    error: tokenExpired(),
  },
  {
    when: "a revoked personal access token (also with `WWW-Authenticate`)",
    error: tokenRevoked(),
  },
  {
    when: "a role too low for a write (checked after the parameters and before anything is looked up, as GitLab; a transfer's role on the moved group or project before its target is looked up); a project Maintainer granting Owner or changing or removing a project Owner (after the member and user lookups, as GitLab's `Gitlab::Access::AccessDeniedError`)",
    error: new KasmapError("forbidden", "Forbidden"),
  },
  {
    when: "a token without a scope the route registers",
    error: insufficientScope(["api", "read_api"]),
  },
  { when: "a blocked user", error: accountBlocked() },
  {
    when: "a project, group, namespace, user or job the caller cannot see or that does not exist (GitLab's `not_found!('Project')`)",
    error: new KasmapError("not_found", "Project"),
  },
  {
    when: "a project member below Developer listing its agents (`not_found!('ClusterAgents')`, lib/api/clusters/agents.rb)",
    error: agentsNotFound(),
  },
  {
    when: "an unknown agent, agent token or personal access token id; an agent or its tokens read by a project member below Developer (`AgentsFinder` finds nothing they may not read); a non-member on `PUT` or `GET /{groups,projects}/:id/members[/all]/:user_id` (GitLab's `ActiveRecord::RecordNotFound`)",
    error: tokenNotFound(),
  },
  {
    when: "a parameter missing or malformed, a non-integer `:agent_id`/`:token_id` (Grape); checked right after authentication, before the project or the role, so also for a project that does not exist and for a caller below the role",
    error: invalidParams(["agent_id is invalid"]),
  },
  {
    when: "`per_page=0` (Grape's `except_values: [0]`, lib/api/concerns/pagination_params.rb); a negative `per_page` reads as 20",
    error: invalidParams(["per_page has a value not allowed"]),
  },
  {
    when: "a rule of the service refuses the request (e.g. a third active agent token)",
    error: new KasmapError("bad_request", "An agent can have only two active tokens at a time"),
  },
  {
    when: "`GET` or `DELETE /personal_access_tokens/self` with a credential that is not a personal access token (`API::PersonalAccessTokens::SelfInformation`)",
    error: new KasmapError("bad_request", "This endpoint requires token type to be a personal access token"),
  },
  {
    when: "an agent's model errors (`bad_request!(full_messages)`)",
    error: fullMessagesBadRequest({ name: ["has already been taken"] }),
  },
  {
    when: "an agent token's model errors: a blank `name` (an absent one is `name is missing`), a `name` over 255 or a `description` over 1,024 characters",
    error: fullMessagesBadRequest({ name: ["can't be blank"] }),
  },
  {
    when: "model errors of projects and users (`render_validation_error!`)",
    error: new KasmapError("validation_failed", "path has already been taken", {
      fields: { path: ["has already been taken"] },
    }),
  },
  {
    when: "`POST /projects` with a `namespace_id` the caller may not create projects in: missing, hidden or their role below Developer alike (`Projects::CreateService#validate_create_permissions`)",
    error: new KasmapError("validation_failed", "namespace is not valid", {
      fields: { namespace: ["is not valid"] },
    }),
  },
  {
    when: "`Username has already been taken` on `POST /users` (lib/api/users.rb); `Member already exists` (`conflict!`, lib/api/members.rb) on `POST /{groups,projects}/:id/members` for a direct member; a GitLab-mode mirror command that clashes with a row Kasmap created",
    error: new KasmapError("conflict", "Member already exists"),
  },
  {
    when: 'a group\'s model errors on `POST /groups` (`render_api_error!("Failed to save group #{group.errors.messages}", 400)`, lib/api/groups.rb)',
    error: failedToSaveGroup({ path: ["has already been taken"] }),
  },
  {
    when: "`POST /groups/:id/transfer` refused by `Groups::TransferService` (`render_api_error!(service.error, 400)`): also `Group is already a root group.`, `Group is already associated to the parent group.`, `You don't have enough permissions.` (no Maintainer+ on the new parent), `The parent group already has a subgroup or a project with the same path.`",
    error: new KasmapError("save_failed", "Transfer failed: Cannot transfer group to one of its subgroup."),
  },
  {
    when: '`PUT /projects/:id/transfer` refused by `Projects::TransferService` (`render_api_error!("Failed to transfer project #{errors.messages}", 400)`): also `You don\'t have permission to transfer projects into that namespace.` (no Maintainer+ on the target), `Project with same name or path in target namespace already exists`',
    error: failedToTransferProject({ new_namespace: ["Project is already in this namespace."] }),
  },
  {
    when: "keyset pagination (`pagination=keyset`) with an order audit events do not page by: only `order_by=id&sort=desc` (`lib/api/helpers/pagination_strategies.rb`)",
    error: new KasmapError("method_not_allowed", KEYSET_UNAVAILABLE),
  },
  {
    when: "a body over the route's byte limit",
    error: new KasmapError("payload_too_large", "the request body is over 1048576 bytes"),
  },
  {
    when: "over a per-user limit (live event streams) or too many unused live tickets; with `Retry-After`",
    error: new KasmapError("too_many_requests", "at most 5 live event streams per user"),
  },
  {
    when: "GitLab (GitLab mode) cannot be reached; with `Retry-After`",
    error: gitLabUnavailable("GitLab did not answer", null),
  },
  {
    when: "PostgreSQL or NATS is unreachable; with `Retry-After`",
    error: new KasmapError("unavailable", "the database is unavailable"),
  },
  {
    when: "anything unexpected (logged with its cause, never echoed)",
    error: new KasmapError("internal", "bug"),
  },
  {
    when: "never on the REST API (the consume path's dead-letter signal); a 500 if it leaked",
    error: new KasmapError("poison_event", "bug"),
  },
  {
    when: "a body that is not valid JSON",
    error: fastifyError(400, "FST_ERR_CTP_INVALID_JSON_BODY"),
  },
  {
    when: "a content type no route reads",
    error: fastifyError(415, "FST_ERR_CTP_INVALID_MEDIA_TYPE"),
  },
];

/** Where Kasmap answers differently from GitLab on purpose, and why. */
export const DELIBERATE_DEPARTURES: readonly string[] = [
  "`Link` headers never carry `private_token` or `job_token` (GitLab echoes every query parameter): a credential must not travel on into logs and caches.",
  'An unknown route answers `404 {"error":"404 Not Found"}` (Grape\'s catch-all), also for Kasmap\'s own extensions.',
  'A keyset `cursor` Kasmap did not write answers `400 {"error":"cursor is invalid"}` (GitLab fails on it with a 500); only forward cursors are read, as Kasmap\'s `Link` offers only `rel="next"`.',
  "Audit events' `details.author_email` is null: Kasmap's read model holds no e-mail addresses; `details.ip_address` is recorded for users' agent and token changes and refused agent creations only (Kasmap audits nothing else a user does). What no user did (a collector's snapshot, a silence) has `author_id: null` and `author_name: \"Kasmap\"` (GitLab's `author_id` is always an integer).",
  "`GET /groups?order_by=similarity` orders by name also with a `search` (GitLab ranks the matches by similarity to it): Kasmap keeps no similarity score.",
  "An agent name over 1,024 characters is refused by the gateway with the model's errors and, unlike shorter invalid names, not recorded as `cluster_agent_create_failed`: an audit event's size is bounded.",
];

/** One answer as the gateway renders it: status, extra headers and body. */
export type CatalogueEntry = {
  code: string;
  when: string;
  status: number;
  headers: Record<string, string>;
  body: unknown;
};

/** The catalogue, each body rendered by the gateway's own error handler. */
export function errorCatalogue(): CatalogueEntry[] {
  const codeOf = (error: Error) => (isKasmapError(error) ? error.code : "fastify");
  const uncovered = (Object.keys(ERROR_CODES) as ErrorCode[]).filter(
    (code) => !CASES.some((c) => codeOf(c.error) === code),
  );
  if (uncovered.length > 0) throw new Error(`error catalogue: no case for ${uncovered.join(", ")}`);
  return CASES.map(({ when, error }) => ({ code: codeOf(error), when, ...rendered(error) }));
}

/** Runs `gitLabErrorHandler` on `error` with a reply that records what it was told. */
function rendered(error: Error): Omit<CatalogueEntry, "code" | "when"> {
  const answer = { status: 200, headers: {} as Record<string, string>, body: undefined as unknown };
  const reply = {
    code(status: number) {
      answer.status = status;
      return reply;
    },
    header(name: string, value: string) {
      answer.headers[name.toLowerCase()] = value;
      return reply;
    },
    headers(values: Record<string, string>) {
      for (const [name, value] of Object.entries(values)) answer.headers[name.toLowerCase()] = value;
      return reply;
    },
    send(body: unknown) {
      answer.body = body;
      return reply;
    },
  };
  const silent = { warn() {}, error() {} };
  const request = { log: silent, routeOptions: { bodyLimit: 1_048_576 } };
  gitLabErrorHandler(error, request as unknown as FastifyRequest, reply as unknown as FastifyReply);
  return answer;
}

/** The catalogue as a Markdown page (`docs/errors.md`, written by `npm run contracts:generate`). */
export function errorCatalogueMarkdown(): string {
  const cell = (text: string) => text.replace(/\|/g, "\\|");
  const rows = errorCatalogue().map((entry) => {
    const headers = Object.entries(entry.headers)
      .map(([name, value]) => `\`${name}: ${value}\``)
      .join("<br>");
    return `| \`${entry.code}\` | ${entry.status} | \`${cell(JSON.stringify(entry.body))}\`${headers ? `<br>${cell(headers)}` : ""} | ${cell(entry.when)} |`;
  });
  return [
    "# Error answers",
    "",
    "Generated by `npm run contracts:generate` from `ERROR_CODES` (`libs/contracts/src/errors.ts`)",
    "and the gateway's error handler (`services/gateway/src/http/error-catalogue.ts`); a test fails",
    "while this page is stale. Every body is GitLab's for the same case (`lib/api/api.rb`,",
    "`lib/api/helpers.rb`, `lib/gitlab/auth/auth_finders.rb`); JSON answers carry",
    "`Content-Type: application/json`.",
    "",
    "| code | status | body (and headers) | when |",
    "|---|---|---|---|",
    ...rows,
    "",
    "## Deliberate departures from GitLab",
    "",
    ...DELIBERATE_DEPARTURES.map((departure) => `- ${departure}`),
    "",
  ].join("\n");
}
