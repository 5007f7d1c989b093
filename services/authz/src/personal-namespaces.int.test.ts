import { ACCESS_LEVELS } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { authzTestEnvironmentForFile } from "./testing/authz-test-environment.ts";

const env = authzTestEnvironmentForFile();

const namespacesOf = (userId: number) =>
  env.db
    .selectFrom("authz.groups")
    .selectAll()
    .where("kind", "=", "user")
    .where("owner_id", "=", userId)
    .execute();

describe("personal namespaces", () => {
  it("the bootstrap admin and every new user get one, owned, as their own root", async () => {
    expect(await namespacesOf(env.adminId)).toEqual([expect.objectContaining({ full_path: "root" })]);
    const carol = await env.command("user.create", {
      actor_user_id: env.adminId,
      username: "carol",
      name: "Carol",
    });
    const [namespace] = await namespacesOf(carol.result.id);
    expect(namespace).toMatchObject({ path: "carol", full_name: "Carol", parent_id: null });
    expect(namespace?.traversal_ids).toEqual([namespace?.id]);
    const membership = await env.db
      .selectFrom("authz.memberships")
      .selectAll()
      .where("source_type", "=", "group")
      .where("source_id", "=", Number(namespace?.id))
      .execute();
    expect(membership).toEqual([
      expect.objectContaining({ user_id: carol.result.id, access_level: ACCESS_LEVELS.owner }),
    ]);
    // user + namespace + owner membership, all in the command's transaction.
    expect(carol.positions).toHaveLength(3);
  });

  it("a username cannot take a group's path, nor be an invalid path", async () => {
    await env.command("group.create", { actor_user_id: env.adminId, name: "Ops", path: "ops" });
    const refuseUsername = (username: string) =>
      env.refusal("user.create", { actor_user_id: env.adminId, username, name: "x" });
    const taken = await refuseUsername("OPS");
    expect(taken.code).toBe("validation_failed");
    const invalid = await refuseUsername("a b");
    expect(invalid.code).toBe("validation_failed");
  });

  it("users from before personal namespaces get one on start, idempotently, uniquified on a clash", async () => {
    // As an old database: users without namespaces, one whose name a group already uses.
    const old = await env.db
      .insertInto("authz.users")
      .values([
        { username: "dave", name: "Dave", is_admin: false, state: "active" },
        { username: "ops", name: "Ops person", is_admin: false, state: "active" },
      ])
      .returning(["id", "username"])
      .execute();
    await env.restart();
    await env.restart();
    const paths = await Promise.all(old.map(async (u) => (await namespacesOf(u.id)).map((n) => n.full_path)));
    expect(paths).toEqual([["dave"], ["ops1"]]);
  });

  it("projects without namespace_id go to the actor's namespace; others may not use it", async () => {
    const erin = await env.createUser("erin", "Erin");
    const frank = await env.createUser("frank", "Frank");
    const project = await env.command("project.create", { actor_user_id: erin, name: "app", path: "app" });
    expect(project.result).toMatchObject({
      path_with_namespace: "erin/app",
      name_with_namespace: "Erin / app",
    });
    const namespaceId = project.result.namespace_id;
    const projectInTheNamespace = (actor_user_id: number, path: string) => ({
      actor_user_id,
      name: path,
      path,
      namespace_id: namespaceId,
    });
    const refused = await env.refusal("project.create", projectInTheNamespace(frank, "x"));
    // GitLab's `validate_create_permissions`, as for a namespace that does not exist.
    expect(refused).toMatchObject({ code: "validation_failed", fields: { namespace: ["is not valid"] } });
    // Not a group: no memberships, subgroups or moves of it.
    const member = await env.refusal("membership.set", {
      actor_user_id: erin,
      source_type: "group",
      source_id: namespaceId,
      user_id: frank,
      access_level: ACCESS_LEVELS.developer,
    });
    expect(member).toMatchObject({ code: "not_found", message: "Group" });
    const sub = await env.refusal("group.create", {
      actor_user_id: erin,
      name: "s",
      path: "s",
      parent_id: namespaceId,
    });
    expect(sub).toMatchObject({ code: "not_found", message: "Group" });
    // An admin may create there, as in GitLab.
    const byAdmin = await env.command("project.create", projectInTheNamespace(env.adminId, "ops"));
    expect(byAdmin.result.path_with_namespace).toBe("erin/ops");
  });
});
