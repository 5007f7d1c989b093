import { ACCESS_LEVELS } from "@kasmap/contracts";
import { beforeAll, describe, expect, it } from "vitest";
import { authzTestEnvironmentForFile } from "./testing/authz-test-environment.ts";

const env = authzTestEnvironmentForFile();
let ownerId: number;
let guestId: number;
let strangerId: number;

beforeAll(async () => {
  ownerId = await env.createUser("alice");
  guestId = await env.createUser("gus");
  strangerId = await env.createUser("stranger");
});

/** As the owner: a group, at the top or under `parent_id`. */
const createGroup = (name: string, path: string, parent_id?: number) =>
  env.command("group.create", { actor_user_id: ownerId, name, path, parent_id });
/** As the owner: a project in group `namespace_id`. */
const createProject = (name: string, path: string, namespace_id: number) =>
  env.command("project.create", { actor_user_id: ownerId, name, path, namespace_id });

describe("groups, projects and agents", () => {
  it("creates a group tree, a project and an agent, with GitLab's paths and traversal_ids", async () => {
    const root = await createGroup("Platform", "platform");
    expect(root.result).toMatchObject({
      full_path: "platform",
      traversal_ids: [root.result.id],
      parent_id: null,
    });
    expect(root.positions.length).toBeGreaterThanOrEqual(2); // group + owner membership
    const sub = await createGroup("Prod", "prod", root.result.id);
    expect(sub.result).toMatchObject({
      full_path: "platform/prod",
      full_name: "Platform / Prod",
      traversal_ids: [root.result.id, sub.result.id],
    });
    const project = await createProject("Infra", "infra", sub.result.id);
    expect(project.result).toMatchObject({
      path_with_namespace: "platform/prod/infra",
      name_with_namespace: "Platform / Prod / Infra",
      traversal_ids: [root.result.id, sub.result.id],
      creator_id: ownerId,
    });
    const agent = await env.command("agent.create", {
      actor_user_id: ownerId,
      project_id: project.result.id,
      name: "prod-agent",
    });
    expect(agent.result).toMatchObject({
      name: "prod-agent",
      project_id: project.result.id,
      deleted_at: null,
    });
  });

  it("refuses case-insensitively taken paths and agent names with GitLab's message", async () => {
    const group = await createGroup("Dup", "dup");
    const taken = await env.refusal("group.create", { actor_user_id: ownerId, name: "Dup", path: "DUP" });
    expect(taken).toMatchObject({ code: "validation_failed", fields: { path: ["has already been taken"] } });
    const project = await createProject("p", "p", group.result.id);
    await env.command("agent.create", { actor_user_id: ownerId, project_id: project.result.id, name: "a1" });
    const again = await env.refusal("agent.create", {
      actor_user_id: ownerId,
      project_id: project.result.id,
      name: "a1",
    });
    expect(again).toMatchObject({ code: "validation_failed", fields: { name: ["has already been taken"] } });
    const badName = await env.refusal("agent.create", {
      actor_user_id: ownerId,
      project_id: project.result.id,
      name: "-Bad",
    });
    expect(badName.code).toBe("validation_failed");
    expect(Object.keys(badName.fields ?? {})).toContain("name");
  });

  it("answers 404 to users who cannot see the project and 403 to those who can but lack the role", async () => {
    const group = await createGroup("Roles", "roles");
    const project = await createProject("app", "app", group.result.id);
    await env.command("membership.set", {
      actor_user_id: ownerId,
      source_type: "group",
      source_id: group.result.id,
      user_id: guestId,
      access_level: ACCESS_LEVELS.guest,
    });
    const request = { project_id: project.result.id, name: "x" };
    const hidden = await env.refusal("agent.create", { actor_user_id: strangerId, ...request });
    expect(hidden).toMatchObject({ code: "not_found", message: "Project" });
    expect(hidden.toGitLabBody()).toEqual({ message: "404 Project Not Found" });
    const lowRole = await env.refusal("agent.create", { actor_user_id: guestId, ...request });
    expect(lowRole.code).toBe("forbidden");
    const subgroup = await env.refusal("group.create", {
      actor_user_id: guestId,
      name: "s",
      path: "s",
      parent_id: group.result.id,
    });
    expect(subgroup.code).toBe("forbidden");
    // Group membership is inherited: Maintainer on the group may create agents in its projects.
    await env.command("membership.set", {
      actor_user_id: ownerId,
      source_type: "group",
      source_id: group.result.id,
      user_id: guestId,
      access_level: ACCESS_LEVELS.maintainer,
    });
    await env.command("agent.create", { actor_user_id: guestId, ...request });
    const notOwner = await env.refusal("membership.set", {
      actor_user_id: guestId,
      source_type: "group",
      source_id: group.result.id,
      user_id: strangerId,
      access_level: ACCESS_LEVELS.developer,
    });
    expect(notOwner.code).toBe("forbidden");
  });

  /** The group's owner setting the guest's membership on `groupId`, as `existing` asks. */
  const ownerSetsGuest = (groupId: number, existing: "refuse" | "require") => ({
    actor_user_id: ownerId,
    source_type: "group" as const,
    source_id: groupId,
    user_id: guestId,
    access_level: ACCESS_LEVELS.guest,
    existing,
  });

  it("refuses to add an existing member as GitLab's POST …/members does, and still updates on request", async () => {
    const group = await createGroup("Adds", "adds");
    const add = ownerSetsGuest(group.result.id, "refuse");
    await env.command("membership.set", add);
    const again = await env.refusal("membership.set", { ...add, access_level: ACCESS_LEVELS.developer });
    expect(again).toMatchObject({ code: "conflict", message: "Member already exists" });
    expect(again.httpStatus).toBe(409);
    expect(again.toGitLabBody()).toEqual({ message: "Member already exists" });
    // The owner (a member since creating the group) is an existing member too.
    const owner = await env.refusal("membership.set", { ...add, user_id: ownerId });
    expect(owner.code).toBe("conflict");
    const updated = await env.command("membership.set", {
      ...add,
      access_level: ACCESS_LEVELS.developer,
      existing: "update",
    });
    expect(updated.result.access_level).toBe(ACCESS_LEVELS.developer);
  });

  it("changes only an existing direct member as GitLab's PUT …/members/:user_id does", async () => {
    const group = await createGroup("Changes", "changes");
    const change = { ...ownerSetsGuest(group.result.id, "require"), access_level: ACCESS_LEVELS.reporter };
    const missing = await env.refusal("membership.set", change);
    expect(missing.code).toBe("not_found_unnamed");
    expect(missing.toGitLabBody()).toEqual({ message: "404 Not found" });
    await env.command("membership.set", { ...change, access_level: ACCESS_LEVELS.guest, existing: "refuse" });
    const changed = await env.command("membership.set", change);
    expect(changed.result.access_level).toBe(ACCESS_LEVELS.reporter);
    // The role comes first: a guest learns nothing about who is a member.
    const notOwner = await env.refusal("membership.set", { ...change, actor_user_id: guestId });
    expect(notOwner.code).toBe("forbidden");
  });

  it("lets a project Maintainer manage the project's members but not its Owners, as GitLab", async () => {
    const group = await createGroup("Maintained", "maintained");
    const project = await createProject("svc", "svc", group.result.id);
    const maintainerId = await env.createUser("mona");
    const memberId = await env.createUser("mel");
    const onProject = { source_type: "project" as const, source_id: project.result.id };
    await env.setMembership({ project: project.result.id }, maintainerId, ACCESS_LEVELS.maintainer);
    const asMaintainer = { ...onProject, actor_user_id: maintainerId, user_id: memberId };
    const added = await env.command("membership.set", {
      ...asMaintainer,
      access_level: ACCESS_LEVELS.developer,
      existing: "refuse",
    });
    expect(added.result.access_level).toBe(ACCESS_LEVELS.developer);
    const raised = await env.command("membership.set", {
      ...asMaintainer,
      access_level: ACCESS_LEVELS.maintainer,
      existing: "require",
    });
    expect(raised.result.access_level).toBe(ACCESS_LEVELS.maintainer);
    // Granting Owner, and changing or removing an Owner, is the Owner's (`manage_owners`).
    const toOwner = await env.refusal("membership.set", {
      ...asMaintainer,
      access_level: ACCESS_LEVELS.owner,
      existing: "require",
    });
    expect(toOwner.code).toBe("forbidden");
    expect(toOwner.toGitLabBody()).toEqual({ message: "403 Forbidden" });
    await env.command("membership.set", {
      ...onProject,
      actor_user_id: ownerId,
      user_id: memberId,
      access_level: ACCESS_LEVELS.owner,
      existing: "require",
    });
    const demote = await env.refusal("membership.set", {
      ...asMaintainer,
      access_level: ACCESS_LEVELS.developer,
      existing: "require",
    });
    expect(demote.code).toBe("forbidden");
    const remove = await env.refusal("membership.set", { ...asMaintainer, access_level: null });
    expect(remove.code).toBe("forbidden");
    // GitLab finds the member first: a missing one is 404 even for an Owner level asked.
    const missing = await env.refusal("membership.set", {
      ...asMaintainer,
      user_id: strangerId,
      access_level: ACCESS_LEVELS.owner,
      existing: "require",
    });
    expect(missing.code).toBe("not_found_unnamed");
    // A group's members stay the group Owner's (GitLab's `admin_group_member`).
    await env.setMembership({ group: group.result.id }, maintainerId, ACCESS_LEVELS.maintainer);
    const onGroup = await env.refusal("membership.set", {
      actor_user_id: maintainerId,
      source_type: "group",
      source_id: group.result.id,
      user_id: strangerId,
      access_level: ACCESS_LEVELS.guest,
    });
    expect(onGroup.code).toBe("forbidden");
  });

  it("lets only admins create users, and users their own tokens", async () => {
    const refused = await env.refusal("user.create", {
      actor_user_id: ownerId,
      username: "eve",
      name: "Eve",
    });
    expect(refused.code).toBe("forbidden");
    const own = await env.command("personal_access_token.create", {
      actor_user_id: ownerId,
      user_id: ownerId,
      name: "cli",
    });
    expect(own.result.plaintext).toMatch(/^glpat-/);
    expect(own.result.token).not.toHaveProperty("token_sha256");
    const other = await env.refusal("personal_access_token.create", {
      actor_user_id: ownerId,
      user_id: guestId,
      name: "x",
    });
    expect(other.code).toBe("not_found");
    const dup = await env.refusal("user.create", {
      actor_user_id: env.adminId,
      username: "ALICE",
      name: "A",
    });
    // GitLab's `conflict!('Username has already been taken')` (lib/api/users.rb).
    expect(dup).toMatchObject({ code: "conflict", message: "Username has already been taken" });
    expect(dup.httpStatus).toBe(409);
    expect(dup.toGitLabBody()).toEqual({ message: "Username has already been taken" });
  });

  it("deletes an agent: tokens revoked, agent gone for later commands", async () => {
    const group = await createGroup("Del", "del");
    const project = await createProject("p", "p", group.result.id);
    const ids = { actor_user_id: ownerId, project_id: project.result.id };
    const agent = await env.command("agent.create", { ...ids, name: "gone" });
    const token = await env.command("agent_token.create", { ...ids, agent_id: agent.result.id, name: "t" });
    const deleted = await env.command("agent.delete", { ...ids, agent_id: agent.result.id });
    expect(deleted.result.deleted_at).not.toBeNull();
    const refused = await env.refusal("agent_token.authenticate", { token: token.result.plaintext });
    expect(refused.code).toBe("unauthorized");
    const missing = await env.refusal("agent.delete", { ...ids, agent_id: agent.result.id });
    expect(missing).toMatchObject({ code: "not_found", message: "ClusterAgents" });
    // The name is free again, as GitLab deletes the agent row.
    await env.command("agent.create", { ...ids, name: "gone" });
  });
});
