import { createGitLabClient } from "@kasmap/gitlab-api";
import { createLogger } from "@kasmap/logging";
import { type GitLabSimulator, startGitLabSimulator } from "@kasmap/testing/gitlab-simulator";
import type { FastifyRequest } from "fastify";
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthenticatedUser } from "../auth/authenticate.ts";
import type { GroupRow, ProjectRow } from "../read-model/registry-queries.ts";
import type { AccessSource } from "./access-source.ts";
import { createGitLabAccess } from "./gitlab-access.ts";

/**
 * The GitLab access source against the GitLab simulator: what GitLab answers becomes the
 * gateway's principal, levels and lists; each answer is asked once per TTL; an outage refuses.
 */

/** Compiles SQL as PostgreSQL would receive it, without a connection. */
const COMPILER = new Kysely<unknown>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

let sim: GitLabSimulator;
let access: AccessSource;
const ids = { group: 0, sub: 0, project: 0, other: 0 };
const tokens = { groupMaintainer: "", projectDeveloper: "", both: "", admin: "", guest: "" };

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const group = sim.addGroup({ path: "acme" });
  const sub = sim.addGroup({ path: "infra", parent_id: group.id });
  const project = sim.addProject({ path: "clusters", namespace_id: sub.id });
  const other = sim.addProject({ path: "web", namespace_id: group.id });
  Object.assign(ids, { group: group.id, sub: sub.id, project: project.id, other: other.id });
  const user = (username: string, isAdmin = false) => sim.addUser({ username, is_admin: isAdmin }).id;
  const groupMaintainer = user("gm");
  const projectDeveloper = user("pd");
  const both = user("both");
  const guest = user("guest");
  sim.addMember({ group_id: group.id }, groupMaintainer, 40);
  sim.addMember({ project_id: project.id }, projectDeveloper, 30);
  sim.addMember({ group_id: sub.id }, both, 20);
  sim.addMember({ project_id: project.id }, both, 50);
  sim.addMember({ project_id: other.id }, guest, 10);
  Object.assign(tokens, {
    groupMaintainer: sim.addToken(groupMaintainer),
    projectDeveloper: sim.addToken(projectDeveloper, { kind: "oauth" }),
    both: sim.addToken(both),
    admin: sim.addToken(user("root", true)),
    guest: sim.addToken(guest),
  });
  access = createGitLabAccess({
    client: createGitLabClient({ baseUrl: sim.url, timeoutMs: 2_000, maxRetries: 0 }),
    ttlMs: 300_000,
    logger: createLogger("gitlab-access-test", "silent"),
  });
});

afterAll(async () => {
  await sim?.close();
});

/** A read of one of Kasmap's routes (a write also asks GitLab for the token's scopes). */
function request(headers: Record<string, string>, query: Record<string, string> = {}): FastifyRequest {
  const route = "/api/v4/projects/:id/cluster_agents/:agent_id/cluster_info";
  return {
    headers,
    query,
    method: "GET",
    url: route,
    routeOptions: { url: route },
  } as unknown as FastifyRequest;
}

async function userFor(token: string): Promise<AuthenticatedUser> {
  return (await access.principalOf(request({ "private-token": token }), { allowJobToken: false })).user;
}

const project = (id: number) => ({ id }) as ProjectRow;

function countRequests(prefix: string): number {
  return sim.requestLog.filter((entry) => entry.path.startsWith(prefix)).length;
}

describe("createGitLabAccess", () => {
  it("finds the caller with GET /user, once per TTL, for PRIVATE-TOKEN, Bearer and private_token alike", async () => {
    const before = countRequests("/api/v4/user");
    const user = await userFor(tokens.groupMaintainer);
    expect(user).toMatchObject({ username: "gm", isAdmin: false });
    await userFor(tokens.groupMaintainer);
    const viaQuery = await access.principalOf(request({}, { private_token: tokens.groupMaintainer }), {
      allowJobToken: false,
    });
    expect(viaQuery.user.id).toBe(user.id);
    expect(countRequests("/api/v4/user") - before).toBe(1);
    expect((await userForBearer()).username).toBe("pd");
    expect((await userFor(tokens.admin)).isAdmin).toBe(true);
  });

  it("refuses a token GitLab rejects with 401, and keeps refusing it within the TTL", async () => {
    await expect(userFor("glpat-unknown")).rejects.toMatchObject({ code: "unauthorized" });
    const before = countRequests("/api/v4/user");
    await expect(userFor("glpat-unknown")).rejects.toMatchObject({ code: "unauthorized" });
    expect(countRequests("/api/v4/user")).toBe(before);
    await expect(access.principalOf(request({}), { allowJobToken: false })).rejects.toMatchObject({
      code: "unauthorized",
    });
  });

  it("reads a job token with GET /job only where job tokens count", async () => {
    const developer = sim.state.usersByUsername.get("pd") as number;
    const job = sim.addJob({ project_id: ids.project, user_id: developer });
    const headers = { "job-token": job.token };
    await expect(access.principalOf(request(headers), { allowJobToken: false })).rejects.toMatchObject({
      code: "unauthorized",
    });
    const principal = await access.principalOf(request(headers), { allowJobToken: true });
    expect(principal).toMatchObject({
      kind: "gitlab",
      user: { id: developer },
      job: { id: job.id, projectId: ids.project },
    });
  });

  it("takes a project's level from GET /projects/:id permissions: the higher of project and group access", async () => {
    expect(await access.projectLevel(await userFor(tokens.groupMaintainer), project(ids.project))).toBe(40);
    expect(await access.projectLevel(await userForBearer(), project(ids.project))).toBe(30);
    expect(await access.projectLevel(await userFor(tokens.both), project(ids.project))).toBe(50);
    // A project GitLab hides: level none (GitLab's 404), asked once per TTL.
    const guest = await userFor(tokens.guest);
    const before = countRequests(`/api/v4/projects/${ids.project}`);
    expect(await access.projectLevel(guest, project(ids.project))).toBe(0);
    expect(await access.projectLevel(guest, project(ids.project))).toBe(0);
    expect(countRequests(`/api/v4/projects/${ids.project}`) - before).toBe(1);
  });

  it("lists the projects a caller holds a role on (ids from GET /projects?min_access_level=), everything for admins", async () => {
    const developerFilter = await access.projectsWhere(
      await userFor(tokens.groupMaintainer),
      "read_cluster_agent",
    );
    const compiled = developerFilter.compile(COMPILER);
    expect(compiled.sql).toBe("p.id = any($1::bigint[])");
    expect([...(compiled.parameters[0] as number[])].sort()).toEqual([ids.project, ids.other].sort());
    const guestFilter = await access.projectsWhere(await userFor(tokens.guest), "read_cluster_agent");
    expect(guestFilter.compile(COMPILER).parameters[0]).toEqual([]);
    const adminFilter = await access.projectsWhere(await userFor(tokens.admin), "read_cluster_agent");
    expect(adminFilter.compile(COMPILER).sql).toBe("true");
  });

  it("sees a group GitLab shows the caller, not one it hides", async () => {
    const group = { id: ids.sub, kind: "group" } as GroupRow;
    expect(await access.namespaceVisible(await userFor(tokens.both), group)).toBe(true);
    expect(await access.namespaceVisible(await userFor(tokens.guest), group)).toBe(false);
  });

  it("fails closed while GitLab is down: 503 for what is not cached, cached answers kept", async () => {
    const warm = await userFor(tokens.groupMaintainer);
    await sim.setDown(true);
    try {
      await expect(
        userFor(sim.addToken(sim.state.usersByUsername.get("gm") as number)),
      ).rejects.toMatchObject({ code: "unavailable_because" });
      await expect(access.projectLevel(warm, project(ids.other + 1000))).rejects.toMatchObject({
        code: "unavailable_because",
      });
      expect(await access.projectLevel(warm, project(ids.project))).toBe(40);
    } finally {
      await sim.setDown(false);
    }
  });
});

async function userForBearer(): Promise<AuthenticatedUser> {
  return (
    await access.principalOf(request({ authorization: `Bearer ${tokens.projectDeveloper}` }), {
      allowJobToken: false,
    })
  ).user;
}
