import { leastLevel } from "@kasmap/access-rules";
import { KasmapError } from "@kasmap/contracts";
import {
  GitLabApiError,
  type GitLabClient,
  GitLabJobSchema,
  GitLabProjectSchema,
  GitLabUserSchema,
} from "@kasmap/gitlab-api";
import type { Logger } from "@kasmap/logging";
import type { FastifyRequest } from "fastify";
import { sql } from "kysely";
import { z } from "zod";
import { type AuthenticatedUser, type Principal, unauthorized } from "../auth/authenticate.ts";
import { insufficientScope } from "../auth/credential-errors.ts";
import { scopesEnoughFor, scopesRegisteredFor } from "../auth/credential-verdict.ts";
import type { AccessSource } from "./access-source.ts";
import { ExpiringCache } from "./expiring-cache.ts";
import { GitLabCaller, gitLabCredentialOf } from "./gitlab-caller.ts";
import { gitLabUnavailable } from "./gitlab-unavailable.ts";

export type GitLabAccessOptions = {
  /** A client of the GitLab instance; each call passes the caller's credential. */
  client: GitLabClient;
  /** How long an answer about a token is used, ms (`KASMAP_GITLAB_PERMISSION_TTL_SECONDS`). */
  ttlMs: number;
  logger: Logger;
  /** Tokens (and, separately, token × project levels) cached at most; the oldest go first. */
  maxEntries?: number;
  /** The most project ids kept for one token's list; beyond it the list is cut (never widened). */
  maxListedProjects?: number;
  /** Each of the four caches (tokens, levels, namespaces, lists) holds at most this many approximate bytes. */
  maxBytesPerCache?: number;
};

export const DEFAULT_MAX_ACCESS_ENTRIES = 10_000;
export const DEFAULT_MAX_LISTED_PROJECTS = 20_000;
/** `maxBytesPerCache`' default: 16 MiB, so GitLab's answers take at most 64 MiB together. */
export const DEFAULT_ACCESS_CACHE_BYTES = 16 * 1024 * 1024;

type GitLabPrincipal = Extract<Principal, { kind: "gitlab" }>;
/** What GitLab said about a token: who holds it, or that it refuses it (both cached). */
type TokenAnswer = { principal: GitLabPrincipal } | { refused: "unauthorized" | "forbidden" };

/** `GET /personal_access_tokens/self` (GitLab 15.5+): a personal, project or group access token. */
const AccessTokenSelfSchema = z.looseObject({ scopes: z.array(z.string()) });
/** `GET /oauth/token/info` (Doorkeeper's, outside `/api/v4`): `scope`, and `scopes` as GitLab adds it. */
const OAuthTokenInfoSchema = z.looseObject({
  scope: z.array(z.string()).optional(),
  scopes: z.array(z.string()).optional(),
});

/** Only the id of each project is read from a listing (`simple=true` keeps GitLab's answer small). */
const ProjectIdSchema = z.looseObject({ id: z.number().int() });

/**
 * GitLab decides (docs/gitlab-mode.md, "gateway in GitLab mode"): the caller from `GET /user`
 * (personal access or OAuth token) or `GET /job` (job token: the job names its project and
 * user), a level from `GET /projects/:id` `permissions` (the higher of `project_access` and
 * `group_access`), lists from `GET /projects?min_access_level=` (ids only). Every answer is
 * cached under the SHA-256 of the token for at most `ttlMs`, grants and refusals alike, so a
 * revocation in GitLab takes effect within the TTL and a refusal is never turned into a grant
 * early. GitLab's 401 → 401; GitLab unreachable with nothing cached → 503 (fail closed).
 */
export function createGitLabAccess(options: GitLabAccessOptions): AccessSource {
  const { client } = options;
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ACCESS_ENTRIES;
  const maxListed = options.maxListedProjects ?? DEFAULT_MAX_LISTED_PROJECTS;
  // Bounded in bytes as well as entries, so the worst case — many valid tokens that each see
  // the longest list — stays bounded in memory (1,000 lists of 20,000 ids would be ~160 MB).
  const bounds = { maxEntries, maxBytes: options.maxBytesPerCache ?? DEFAULT_ACCESS_CACHE_BYTES };
  const tokens = new ExpiringCache<string, TokenAnswer>(options.ttlMs, bounds);
  const levels = new ExpiringCache<string, number>(options.ttlMs, bounds);
  const namespaces = new ExpiringCache<string, boolean>(options.ttlMs, bounds);
  const lists = new ExpiringCache<string, readonly number[]>(options.ttlMs, bounds);
  const scopes = new ExpiringCache<string, readonly string[]>(options.ttlMs, bounds);

  /**
   * The token's scopes as GitLab has them: a personal (or project, group) access token's from
   * `GET /personal_access_tokens/self`, which any scope may call; GitLab answers 400 there for
   * an OAuth token, whose scopes come from `GET /oauth/token/info`. A token GitLab tells nothing
   * about has none (fail closed).
   */
  async function askAboutScopes(caller: GitLabCaller): Promise<readonly string[]> {
    const credential = caller.credential;
    try {
      return (await client.get("/personal_access_tokens/self", AccessTokenSelfSchema, { credential })).scopes;
    } catch (error) {
      if (!(error instanceof GitLabApiError)) throw error;
      if (error.kind === "unauthorized") return [];
      // 400: not an access token (OAuth's); 404: a GitLab before 15.5, which cannot say.
      const notAnAccessToken = error.kind === "invalid_response" || error.kind === "not_found";
      if (!notAnAccessToken) throw refusalOrUnavailable(error);
      if (credential.kind !== "oauth") return [];
    }
    try {
      const info = await client.getAtRoot("/oauth/token/info", OAuthTokenInfoSchema, { credential });
      return info.scope ?? info.scopes ?? [];
    } catch (error) {
      if (error instanceof GitLabApiError && error.kind !== "unreachable" && error.kind !== "server")
        return [];
      throw refusalOrUnavailable(error);
    }
  }

  /**
   * GitLab's scope rule for Kasmap's own routes (`credential-verdict.ts`, as standalone): a write
   * needs `api` (the live-events ticket: `read_api`). GitLab checks its own routes itself, but
   * Kasmap's writes only ask GitLab reads that a `read_api` token passes, so Kasmap asks for the
   * token's scopes — only on requests a read scope is not enough for.
   */
  async function checkScopes(caller: GitLabCaller, request: FastifyRequest): Promise<void> {
    if (caller.isJobToken) return;
    const shape = { method: request.method, route: request.routeOptions.url ?? request.url };
    const enough = scopesEnoughFor(shape);
    if (enough.includes("read_api")) return;
    const held = await scopes.get(caller.tokenKey, () => askAboutScopes(caller));
    if (!enough.some((scope) => held.includes(scope))) {
      throw insufficientScope(scopesRegisteredFor(shape).map((scope) => scope.name));
    }
  }

  async function askAboutToken(caller: GitLabCaller): Promise<TokenAnswer> {
    const credential = caller.credential;
    try {
      if (caller.isJobToken) {
        const job = await client.get("/job", GitLabJobSchema, { credential });
        if (!job.user) return { refused: "unauthorized" };
        return {
          principal: {
            kind: "gitlab",
            user: userOf(job.user, caller),
            job: { id: job.id, projectId: job.pipeline.project_id },
          },
        };
      }
      const user = await client.get("/user", GitLabUserSchema, { credential });
      return { principal: { kind: "gitlab", user: userOf(user, caller), job: null } };
    } catch (error) {
      if (error instanceof GitLabApiError && error.kind === "unauthorized")
        return { refused: "unauthorized" };
      // 403: a token GitLab knows but that may not read the user (scopes) or a blocked user.
      if (error instanceof GitLabApiError && error.kind === "forbidden") return { refused: "forbidden" };
      throw unavailable(error);
    }
  }

  function callerOf(user: AuthenticatedUser): GitLabCaller {
    // Only principals made below carry a caller; anything else is no GitLab credential at all.
    if (!user.gitlab) throw unauthorized();
    return user.gitlab;
  }

  return {
    kind: "gitlab",
    async principalOf(request, { allowJobToken }) {
      const credential = gitLabCredentialOf(request.headers, request.query);
      if (!credential) throw unauthorized();
      if (credential.kind === "job_token" && !allowJobToken) throw unauthorized();
      const caller = new GitLabCaller(credential);
      const answer = await tokens.get(caller.tokenKey, () => askAboutToken(caller));
      if ("refused" in answer) {
        throw answer.refused === "forbidden" ? new KasmapError("forbidden", "Forbidden") : unauthorized();
      }
      await checkScopes(caller, request);
      return answer.principal;
    },

    async projectLevel(user, project) {
      const caller = callerOf(user);
      return levels.get(`${caller.tokenKey}:${project.id}`, async () => {
        try {
          const found = await client.get(`/projects/${project.id}`, GitLabProjectSchema, {
            credential: caller.credential,
          });
          const permissions = found.permissions;
          return Math.max(
            permissions?.project_access?.access_level ?? 0,
            permissions?.group_access?.access_level ?? 0,
          );
        } catch (error) {
          // GitLab's "you may not see it" is a level of none, cached like a grant.
          if (error instanceof GitLabApiError && (error.kind === "not_found" || error.kind === "forbidden")) {
            return 0;
          }
          throw refusalOrUnavailable(error);
        }
      });
    },

    async namespaceVisible(user, namespace) {
      const caller = callerOf(user);
      const path = namespace.kind === "group" ? `/groups/${namespace.id}` : `/namespaces/${namespace.id}`;
      return namespaces.get(`${caller.tokenKey}:${path}`, async () => {
        try {
          // `with_projects=false`: GitLab would otherwise embed the group's projects.
          await client.get(path, z.looseObject({ id: z.number() }), {
            credential: caller.credential,
            query: namespace.kind === "group" ? { with_projects: false } : {},
          });
          return true;
        } catch (error) {
          if (error instanceof GitLabApiError && (error.kind === "not_found" || error.kind === "forbidden")) {
            return false;
          }
          throw refusalOrUnavailable(error);
        }
      });
    },

    async projectsWhere(user, action) {
      if (user.isAdmin) return sql<boolean>`true`;
      const level = leastLevel(action);
      if (level === undefined) return sql<boolean>`false`;
      const caller = callerOf(user);
      const ids = await lists.get(`${caller.tokenKey}:${level}`, () => listProjectIds(caller, level));
      return sql<boolean>`p.id = any(${sql.val(ids)}::bigint[])`;
    },
  };

  /** The ids of the projects where the caller holds `level` or more, page by page, at most `maxListed`. */
  async function listProjectIds(caller: GitLabCaller, level: number): Promise<readonly number[]> {
    const ids: number[] = [];
    try {
      const pages = client.pages("/projects", ProjectIdSchema, {
        query: { min_access_level: level, simple: true, order_by: "id", sort: "asc" },
        credential: caller.credential,
      });
      for await (const page of pages) {
        for (const project of page) ids.push(project.id);
        if (ids.length >= maxListed) {
          options.logger.warn(
            { max_listed_projects: maxListed, min_access_level: level },
            "a caller sees more projects in GitLab than Kasmap keeps per token; lists show the first ones by id",
          );
          return ids.slice(0, maxListed);
        }
      }
      return ids;
    } catch (error) {
      throw refusalOrUnavailable(error);
    }
  }
}

/** A GitLab user as the gateway's user, holding the credential it was found with. */
function userOf(
  user: { id: number; username: string; name: string; is_admin?: boolean | undefined },
  caller: GitLabCaller,
): AuthenticatedUser & { gitlab: GitLabCaller } {
  return {
    id: user.id,
    username: user.username,
    name: user.name,
    isAdmin: user.is_admin === true,
    gitlab: caller,
  };
}

/** GitLab's 401 in the middle of a check (the token was revoked since it was cached) → 401; else 503. */
function refusalOrUnavailable(error: unknown): Error {
  if (error instanceof GitLabApiError && error.kind === "unauthorized") return unauthorized();
  return unavailable(error);
}

function unavailable(error: unknown): Error {
  if (!(error instanceof GitLabApiError)) return error instanceof Error ? error : new Error(String(error));
  const why =
    error.kind === "unreachable"
      ? "no answer"
      : error.status === null
        ? error.kind
        : `${error.kind}, HTTP ${error.status}`;
  return gitLabUnavailable(why, error);
}
