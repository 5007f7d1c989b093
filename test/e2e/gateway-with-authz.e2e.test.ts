import { gitlabMemberBody } from "@kasmap/testing";
import { type KasmapSystem, ok } from "@kasmap/testing/system";
import { describe, expect, it } from "vitest";
import { kasmapSystemForFile, userWithToken } from "./system-for-file.ts";

/**
 * The gateway with the real authz and projection services: every write goes through authz,
 * every read comes from the read model the projection filled. No row is inserted by hand.
 */
const ADMIN_TOKEN = "glpat-admin-system-test";
const system = kasmapSystemForFile({ adminToken: ADMIN_TOKEN });
const call: KasmapSystem["call"] = (...args) => system.call(...args);

describe("gateway with authz and projection", () => {
  it("runs the agent lifecycle, each write visible to the next read", async () => {
    const group = await ok<{ id: number }>(
      call("POST", "/api/v4/groups", ADMIN_TOKEN, { name: "Acme", path: "acme" }),
      201,
    );
    const project = await ok<{ id: number; path_with_namespace: string }>(
      call("POST", "/api/v4/projects", ADMIN_TOKEN, { name: "Infra Tools", namespace_id: group.id }),
      201,
    );
    expect(project.path_with_namespace).toBe("acme/infra-tools");
    const dev = await userWithToken(system, ADMIN_TOKEN, "dev");
    const agents = "/api/v4/projects/acme%2Finfra-tools/cluster_agents";
    expect((await call("GET", agents, dev.token)).status).toBe(404);
    await ok(
      call("POST", `/api/v4/groups/${group.id}/members`, ADMIN_TOKEN, {
        user_id: dev.userId,
        access_level: 30,
      }),
      201,
    );
    expect(await ok(call("GET", agents, dev.token), 200)).toEqual([]);

    // A Developer may read agents but not create them: authz refuses, GitLab-style.
    expect((await call("POST", agents, dev.token, { name: "prod" })).status).toBe(403);
    const agent = await ok<{ id: number; name: string }>(
      call("POST", agents, ADMIN_TOKEN, { name: "prod" }),
      201,
    );
    const listed = await ok<Array<{ id: number }>>(call("GET", agents, dev.token), 200);
    expect(listed.map((a) => a.id)).toEqual([agent.id]);

    const token = await ok<{ id: number; token: string }>(
      call("POST", `${agents}/${agent.id}/tokens`, ADMIN_TOKEN, { name: "ci" }),
      201,
    );
    expect(token.token.startsWith("glagent-")).toBe(true);
    expect(await ok<unknown[]>(call("GET", `${agents}/${agent.id}/tokens`, dev.token), 200)).toHaveLength(1);
    await ok(call("DELETE", `${agents}/${agent.id}/tokens/${token.id}`, ADMIN_TOKEN), 204);
    expect(await ok<unknown[]>(call("GET", `${agents}/${agent.id}/tokens`, dev.token), 200)).toEqual([]);

    const summary = await ok<{ dropped: unknown[] }>(
      call(
        "PUT",
        `${agents}/${agent.id}/configuration`,
        ADMIN_TOKEN,
        "ci_access:\n  projects:\n    - id: acme/infra-tools\n",
      ),
      200,
    );
    expect(summary.dropped).toEqual([]);

    expect(await ok(call("GET", `${agents}/${agent.id}/cluster_info`, dev.token), 200)).toBeNull();
    await ok(call("DELETE", `${agents}/${agent.id}`, ADMIN_TOKEN), 204);
    expect((await call("GET", `${agents}/${agent.id}`, dev.token)).status).toBe(404);
  });

  it("answers GitLab's bodies for an existing member, username or group path (issue 10)", async () => {
    const group = await ok<{ id: number }>(
      call("POST", "/api/v4/groups", ADMIN_TOKEN, { name: "Clash", path: "clash" }),
      201,
    );
    const takenPath = await call("POST", "/api/v4/groups", ADMIN_TOKEN, { name: "Clash", path: "CLASH" });
    expect(takenPath.status).toBe(400);
    expect(await takenPath.json()).toEqual({
      message: 'Failed to save group {:path=>["has already been taken"]}',
    });
    const user = await ok<{ id: number }>(
      call("POST", "/api/v4/users", ADMIN_TOKEN, { username: "clasher", name: "Clasher" }),
      201,
    );
    const takenUsername = await call("POST", "/api/v4/users", ADMIN_TOKEN, {
      username: "Clasher",
      name: "C",
    });
    expect(takenUsername.status).toBe(409);
    expect(await takenUsername.json()).toEqual({ message: "Username has already been taken" });
    for (const source of [`groups/${group.id}`, "projects/acme%2Finfra-tools"]) {
      const members = `/api/v4/${source}/members`;
      await ok(call("POST", members, ADMIN_TOKEN, { user_id: user.id, access_level: 30 }), 201);
      const again = await call("POST", members, ADMIN_TOKEN, { user_id: user.id, access_level: 40 });
      expect(again.status).toBe(409);
      expect(await again.json()).toEqual({ message: "Member already exists" });
    }
  });

  it("changes a member's level with PUT …/members/:user_id as GitLab does", async () => {
    const group = await ok<{ id: number }>(
      call("POST", "/api/v4/groups", ADMIN_TOKEN, { name: "Levels", path: "levels" }),
      201,
    );
    const project = await ok<{ id: number }>(
      call("POST", "/api/v4/projects", ADMIN_TOKEN, { name: "app", namespace_id: group.id }),
      201,
    );
    const member = await userWithToken(system, ADMIN_TOKEN, "climber");
    const maintainer = await userWithToken(system, ADMIN_TOKEN, "keeper");
    const stranger = await userWithToken(system, ADMIN_TOKEN, "stranger");
    const projectMembers = `/api/v4/projects/${project.id}/members`;
    const groupMembers = `/api/v4/groups/${group.id}/members`;
    await ok(call("POST", projectMembers, ADMIN_TOKEN, { user_id: member.userId, access_level: 20 }), 201);
    await ok(call("POST", groupMembers, ADMIN_TOKEN, { user_id: maintainer.userId, access_level: 40 }), 201);
    const agents = `/api/v4/projects/${project.id}/cluster_agents`;
    // A Reporter cannot read agents (Kasmap's 404 below Developer).
    expect((await call("GET", agents, member.token)).status).toBe(404);

    const changed = await call("PUT", `${projectMembers}/${member.userId}`, ADMIN_TOKEN, {
      access_level: 30,
    });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toEqual(
      gitlabMemberBody({ id: member.userId, username: "climber", access_level: 30 }),
    );
    // The new level is in force for the next request.
    expect(await ok(call("GET", agents, member.token), 200)).toEqual([]);

    // Not a direct member of the project (the maintainer's membership is the group's).
    const notMember = await call("PUT", `${projectMembers}/${stranger.userId}`, ADMIN_TOKEN, {
      access_level: 30,
    });
    expect(notMember.status).toBe(404);
    expect(await notMember.json()).toEqual({ message: "404 Not found" });
    const inherited = await call("PUT", `${projectMembers}/${maintainer.userId}`, ADMIN_TOKEN, {
      access_level: 30,
    });
    expect(inherited.status).toBe(404);

    // Too low a role: a Maintainer may not change a group's members (GitLab: Owner), and a
    // Developer not a project's; both answer 403 before any member is looked up.
    for (const [path, token] of [
      [`${groupMembers}/${maintainer.userId}`, maintainer.token],
      [`${projectMembers}/${stranger.userId}`, member.token],
    ] as const) {
      const refused = await call("PUT", path, token, { access_level: 10 });
      expect(refused.status).toBe(403);
      expect(await refused.json()).toEqual({ message: "403 Forbidden" });
    }
    // Someone who cannot see the project learns nothing about it.
    const hidden = await call("PUT", `${projectMembers}/${member.userId}`, stranger.token, {
      access_level: 10,
    });
    expect(hidden.status).toBe(404);
    expect(await hidden.json()).toEqual({ message: "404 Project Not Found" });
  });

  it("reports authz's outbox on /metrics", async () => {
    const metrics = await (await call("GET", "/metrics", "")).text();
    expect(metrics).toContain("kasmap_authz_outbox_pending_rows 0");
    expect(metrics).toContain("kasmap_authz_outbox_set_aside_rows 0");
  });
});
