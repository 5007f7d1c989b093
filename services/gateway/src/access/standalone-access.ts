import { mayPerform } from "@kasmap/access-rules";
import { digestToken } from "@kasmap/contracts";
import {
  type Credential,
  credentialFromHeaders,
  lookUpPrincipal,
  lookUpPrincipalByDigest,
  type StandalonePrincipal,
  unauthorized,
} from "../auth/authenticate.ts";
import { checkPrincipal, tokenUsableUntil } from "../auth/credential-verdict.ts";
import type { GatewayCaches } from "../cache/gateway-caches.ts";
import {
  groupAccess,
  levelFromMemberships,
  loadUserMemberships,
  projectAccessLevel,
} from "../permissions/access-levels.ts";
import { actionAllowedSql } from "../permissions/agent-visibility.ts";
import {
  findProject,
  type ProjectRow,
  projectIdCacheKey,
  type ReadModel,
} from "../read-model/registry-queries.ts";
import type { AccessSource } from "./access-source.ts";

/** The principals cache's key of a credential: `<credential kind>:<sha256 of token>`. */
function principalKey(credential: Credential): string {
  return `${credential.kind}:${digestToken(credential.token)}`;
}

/**
 * The principal of a principals cache key (`principalKey`), reloaded from the read model without
 * the token: the key holds its digest, which is what the read model is searched by.
 */
export function principalOfKey(db: ReadModel, key: string): Promise<StandalonePrincipal | null> {
  const at = key.indexOf(":");
  const kind = key.slice(0, at);
  if (at < 0 || (kind !== "personal_access_token" && kind !== "job_token")) {
    return Promise.reject(new Error(`not a principals cache key: ${key.slice(0, 32)}`));
  }
  return lookUpPrincipalByDigest(db, kind, key.slice(at + 1));
}

/**
 * Kasmap's own registry decides: tokens, users and memberships in the read model, behind the
 * caches that change notices drop (the gateway's behaviour before GitLab mode, unchanged).
 */
export function createStandaloneAccess(deps: {
  db: ReadModel;
  caches: GatewayCaches;
  /** A job token stops working this long after its job was registered, ms. */
  jobTokenMaxLifetimeMs: number;
}): AccessSource {
  const { db, caches } = deps;
  // Decided from the user's memberships held whole (one entry per user, dropped by their
  // membership notices), or per (user, project) for a user with too many to hold.
  const levelOf = async (userId: number, project: Pick<ProjectRow, "id" | "traversal_ids">) => {
    const memberships =
      caches.userMemberships.peek(userId) ??
      (await caches.userMemberships.get(userId, () => loadUserMemberships(db, userId)));
    if (memberships !== "too_many") return levelFromMemberships(memberships, project);
    const cached = await caches.projectAccessLevels.get(`${userId}:${project.id}`, async () => ({
      level: await projectAccessLevel(db, userId, project),
      project: { id: project.id, traversal_ids: project.traversal_ids },
    }));
    return cached.level;
  };

  /** A job token acts with its user's current permissions: Developer+ on the job's project. */
  async function jobUserStillMember(principal: Extract<StandalonePrincipal, { kind: "job" }>) {
    if (principal.user.isAdmin) return true;
    const project = await caches.projects.get(projectIdCacheKey(principal.projectId), () =>
      findProject(db, { kind: "id", id: principal.projectId }),
    );
    if (!project) return false;
    return mayPerform("use_job_token", await levelOf(principal.user.id, project), false);
  }

  return {
    kind: "standalone",
    async principalOf(request, options) {
      const credential = credentialFromHeaders(request.headers, request.query);
      if (!credential) throw unauthorized();
      if (credential.kind === "job_token" && !options.allowJobToken) throw unauthorized();
      const principal = await caches.principals.get(principalKey(credential), () =>
        lookUpPrincipal(db, credential),
      );
      if (!principal) throw unauthorized();
      checkPrincipal(
        principal,
        { method: request.method, route: request.routeOptions.url ?? request.url },
        { now: new Date(), jobTokenMaxLifetimeMs: deps.jobTokenMaxLifetimeMs },
      );
      if (principal.kind === "job" && !(await jobUserStillMember(principal))) throw unauthorized();
      return principal;
    },
    projectLevel: (user, project) => levelOf(user.id, project),
    async namespaceVisible(user, namespace) {
      return (await groupAccess(db, user.id, namespace)).visible;
    },
    projectsWhere: async (user, action) => actionAllowedSql(user, action),
    hotCallerKey: (token) => principalKey({ kind: "personal_access_token", token }),
    cachedUserOf(callerKey, request, stamps) {
      const cached = caches.principals.peekEntry(callerKey);
      const principal = cached?.value;
      if (principal?.kind !== "user") return undefined;
      try {
        checkPrincipal(principal, request, {
          now: new Date(),
          jobTokenMaxLifetimeMs: deps.jobTokenMaxLifetimeMs,
        });
      } catch {
        // A refusal is the full path's to answer (with its body and headers).
        return undefined;
      }
      if (stamps && cached) {
        stamps.push(cached.stamp, {
          live: true,
          usableUntil: tokenUsableUntil(principal.token.expiresOn),
          read: false,
        });
      }
      return principal.user;
    },
    cachedProjectLevel(user, project, stamps) {
      const cached = caches.userMemberships.peekEntry(user.id);
      const memberships = cached?.value;
      if (memberships === undefined || memberships === "too_many") return undefined;
      if (stamps && cached) stamps.push(cached.stamp);
      return levelFromMemberships(memberships, project);
    },
  };
}
