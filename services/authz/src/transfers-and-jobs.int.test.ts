import { ACCESS_LEVELS } from "@kasmap/contracts";
import { beforeAll, describe, expect, it } from "vitest";
import { authzTestEnvironmentForFile } from "./testing/authz-test-environment.ts";

const env = authzTestEnvironmentForFile();
let maintainerId: number;
const ids = { source: 0, target: 0, child: 0, project: 0 };

beforeAll(async () => {
  const actor_user_id = env.adminId;
  maintainerId = await env.createUser("mia", "Mia");
  ids.source = (await env.command("group.create", { actor_user_id, name: "Src", path: "src" })).result.id;
  ids.target = (await env.command("group.create", { actor_user_id, name: "Dst", path: "dst" })).result.id;
  ids.child = (
    await env.command("group.create", { actor_user_id, name: "Child", path: "child", parent_id: ids.source })
  ).result.id;
  ids.project = (
    await env.command("project.create", { actor_user_id, name: "App", path: "app", namespace_id: ids.child })
  ).result.id;
  for (const group of [ids.source, ids.target]) {
    await env.setMembership({ group }, maintainerId, ACCESS_LEVELS.maintainer);
  }
});

const groupRow = (id: number) =>
  env.db.selectFrom("authz.groups").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
const projectRow = (id: number) =>
  env.db.selectFrom("authz.projects").selectAll().where("id", "=", id).executeTakeFirstOrThrow();

describe("transfers", () => {
  it("needs Owner on the moved group; Maintainer is refused with 403", async () => {
    const refused = await env.refusal("group.transfer", {
      actor_user_id: maintainerId,
      group_id: ids.child,
      parent_id: ids.target,
    });
    expect(refused.code).toBe("forbidden");
  });

  it("moves a whole subtree: groups and projects get the new prefix in one step", async () => {
    await env.setMembership({ group: ids.source }, maintainerId, ACCESS_LEVELS.owner);
    const moved = await env.command("group.transfer", {
      actor_user_id: maintainerId,
      group_id: ids.source,
      parent_id: ids.target,
    });
    expect(moved.result).toMatchObject({ full_path: "dst/src", full_name: "Dst / Src" });
    expect(await groupRow(ids.child)).toMatchObject({
      traversal_ids: [ids.target, ids.source, ids.child],
      full_path: "dst/src/child",
      full_name: "Dst / Src / Child",
    });
    expect(await projectRow(ids.project)).toMatchObject({
      traversal_ids: [ids.target, ids.source, ids.child],
      path_with_namespace: "dst/src/child/app",
      name_with_namespace: "Dst / Src / Child / App",
    });
    // One registry event per moved group (2) and project (1).
    expect(moved.positions).toHaveLength(3);
    const back = await env.command("group.transfer", {
      actor_user_id: env.adminId,
      group_id: ids.source,
      parent_id: null,
    });
    expect(back.result).toMatchObject({ full_path: "src", traversal_ids: [ids.source], parent_id: null });
  });

  it("serialises concurrent creates: of two identical groups exactly one is created", async () => {
    const attempts = await Promise.allSettled(
      [1, 2].map(() =>
        env.command("group.create", { actor_user_id: env.adminId, name: "Race", path: "race" }),
      ),
    );
    expect(attempts.filter((a) => a.status === "fulfilled")).toHaveLength(1);
    const rejected = attempts.find((a) => a.status === "rejected");
    expect(rejected?.status === "rejected" && rejected.reason).toMatchObject({ code: "validation_failed" });
  });
});

describe("jobs", () => {
  it("registers a job for a Developer+ and returns its token once", async () => {
    const job = await env.command("job.create", {
      actor_user_id: maintainerId,
      project_id: ids.project,
      ref: "main",
      ref_protected: true,
      environment: { name: "Review/Feature 1", tier: "development" },
    });
    expect(job.result.plaintext).toMatch(/^glcbt-/);
    expect(job.result.job).toMatchObject({
      project_id: ids.project,
      user_id: maintainerId,
      status: "running",
      environment: { name: "Review/Feature 1", tier: "development", slug: "review-feature-1" },
    });
    expect(job.result.job).not.toHaveProperty("token_sha256");
    const outsider = await env.createUser("out", "Out");
    const refused = await env.refusal("job.create", { actor_user_id: outsider, project_id: ids.project });
    expect(refused).toMatchObject({ code: "not_found", message: "Project" });
  });
});

describe("job context and the end of a job", () => {
  it("refuses a Developer's protected ref or environment: authz is the authority, not the gateway", async () => {
    const developer = await env.createUser("dana", "Dana");
    await env.setMembership({ project: ids.project }, developer, ACCESS_LEVELS.developer);
    const base = { actor_user_id: developer, project_id: ids.project };
    expect((await env.refusal("job.create", { ...base, ref_protected: true })).code).toBe("forbidden");
    expect((await env.refusal("job.create", { ...base, environment: { name: "production" } })).code).toBe(
      "forbidden",
    );
    const job = await env.command("job.create", { ...base, ref_protected: false });
    expect(job.result.job).toMatchObject({ ref_protected: false, environment: null, status: "running" });

    const finished = await env.command("job.finish", { ...base, job_id: job.result.job.id });
    expect(finished.result).toMatchObject({ id: job.result.job.id, status: "finished" });
    expect(finished.positions).toHaveLength(1);
    // Finishing again changes nothing and publishes nothing.
    const again = await env.command("job.finish", { ...base, job_id: job.result.job.id });
    expect(again).toMatchObject({ result: { status: "finished" }, positions: [] });
    expect(await env.refusal("job.finish", { ...base, job_id: 999_999 })).toMatchObject({
      code: "not_found",
      message: "Job",
    });
  });
});

describe("revoking tokens and blocking users", () => {
  it("revokes a token for its owner or an admin, and hides it from anyone else", async () => {
    const owner = await env.createUser("olga", "O");
    const other = await env.createUser("otto", "O");
    const token = await env.command("personal_access_token.create", {
      actor_user_id: env.adminId,
      user_id: owner,
      name: "cli",
      scopes: ["read_api"],
      expires_at: "2030-01-31",
    });
    expect(token.result.token).toMatchObject({ scopes: ["read_api"], expires_at: "2030-01-31" });
    const id = token.result.token.id;
    expect(
      await env.refusal("personal_access_token.revoke", { actor_user_id: other, token_id: id }),
    ).toMatchObject({
      code: "not_found",
    });
    const revoked = await env.command("personal_access_token.revoke", { actor_user_id: owner, token_id: id });
    expect(revoked.result.revoked).toBe(true);
    const again = await env.command("personal_access_token.revoke", {
      actor_user_id: env.adminId,
      token_id: id,
    });
    expect(again).toMatchObject({ result: { revoked: true }, positions: [] });
  });

  it("blocks and unblocks users for admins only, never the admin themselves", async () => {
    const user = await env.createUser("bert", "B");
    expect(
      await env.refusal("user.set_state", { actor_user_id: maintainerId, user_id: user, state: "blocked" }),
    ).toMatchObject({ code: "forbidden" });
    expect(
      await env.refusal("user.set_state", {
        actor_user_id: env.adminId,
        user_id: env.adminId,
        state: "blocked",
      }),
    ).toMatchObject({ code: "forbidden" });
    const blocked = await env.command("user.set_state", {
      actor_user_id: env.adminId,
      user_id: user,
      state: "blocked",
    });
    expect(blocked.result).toMatchObject({ changed: true, user: { state: "blocked" } });
    expect(
      (await env.command("user.set_state", { actor_user_id: env.adminId, user_id: user, state: "blocked" }))
        .result.changed,
    ).toBe(false);
    // A blocked user's own commands are refused.
    expect(await env.refusal("job.create", { actor_user_id: user, project_id: ids.project })).toMatchObject({
      code: "unauthorized",
    });
    const active = await env.command("user.set_state", {
      actor_user_id: env.adminId,
      user_id: user,
      state: "active",
    });
    expect(active.result).toMatchObject({ changed: true, user: { state: "active" } });
  });
});

describe("GitLab's order and wording for project creation and transfers", () => {
  const w = {
    top: 0,
    sub: 0,
    dev: 0,
    maint: 0,
    hidden: 0,
    project: 0,
    owner: 0,
    developer: 0,
    guest: 0,
    stranger: 0,
    maintainer: 0,
  };
  const create = (name: string, parent_id: number | null = null) =>
    env.command("group.create", { actor_user_id: env.adminId, name, path: name, parent_id });

  beforeAll(async () => {
    w.top = (await create("gl-top")).result.id;
    w.sub = (await create("gl-sub", w.top)).result.id;
    w.dev = (await create("gl-dev")).result.id;
    w.maint = (await create("gl-maint")).result.id;
    w.hidden = (await create("gl-hidden")).result.id;
    // A subgroup and a project whose paths collide with what moves into gl-maint below.
    await create("gl-sub", w.maint);
    await env.command("project.create", {
      actor_user_id: env.adminId,
      name: "app",
      path: "app",
      namespace_id: w.maint,
    });
    w.project = (
      await env.command("project.create", {
        actor_user_id: env.adminId,
        name: "app",
        path: "app",
        namespace_id: w.top,
      })
    ).result.id;
    for (const name of ["owner", "developer", "guest", "stranger", "maintainer"] as const) {
      w[name] = await env.createUser(`gl-${name}`, name);
    }
    await env.setMembership({ group: w.top }, w.owner, ACCESS_LEVELS.owner);
    await env.setMembership({ group: w.dev }, w.owner, ACCESS_LEVELS.developer);
    await env.setMembership({ group: w.maint }, w.owner, ACCESS_LEVELS.maintainer);
    await env.setMembership({ group: w.top }, w.developer, ACCESS_LEVELS.developer);
    await env.setMembership({ group: w.top }, w.guest, ACCESS_LEVELS.guest);
    await env.setMembership({ group: w.top }, w.maintainer, ACCESS_LEVELS.maintainer);
  });

  it("lets a Developer create a project in the group (GitLab's default project creation level)", async () => {
    const created = await env.command("project.create", {
      actor_user_id: w.developer,
      name: "dev-made",
      path: "dev-made",
      namespace_id: w.top,
    });
    expect(created.result.path_with_namespace).toBe("gl-top/dev-made");
  });

  it("refuses a namespace that is missing, hidden or beyond the role with one answer: namespace is not valid", async () => {
    const attempt = (actor_user_id: number, namespace_id: number) =>
      env.refusal("project.create", { actor_user_id, name: "x", path: "x", namespace_id });
    const refusals = [
      await attempt(w.guest, w.top),
      await attempt(w.developer, 999_999),
      await attempt(w.developer, w.hidden),
    ];
    for (const refusal of refusals) {
      expect(refusal.code).toBe("validation_failed");
      expect(refusal.toGitLabBody()).toEqual({ message: { namespace: ["is not valid"] } });
    }
  });

  it("checks admin_group on the group before looking up the new parent, then GitLab's refusals verbatim", async () => {
    const transfer = (actor_user_id: number, group_id: number, parent_id: number | null) =>
      env.refusal("group.transfer", { actor_user_id, group_id, parent_id });
    expect((await transfer(w.maintainer, w.sub, 999_999)).code).toBe("forbidden");
    expect((await transfer(w.owner, w.sub, 999_999)).toGitLabBody()).toEqual({
      message: "404 Group Not Found",
    });
    expect((await transfer(w.owner, w.sub, w.hidden)).toGitLabBody()).toEqual({
      message: "404 Group Not Found",
    });
    const failures = [
      [w.sub, w.dev, "You don't have enough permissions."],
      [w.sub, w.top, "Group is already associated to the parent group."],
      [w.top, null, "Group is already a root group."],
      [w.top, w.sub, "Cannot transfer group to one of its subgroup."],
      [w.sub, w.maint, "The parent group already has a subgroup or a project with the same path."],
    ] as const;
    for (const [group, parent, reason] of failures) {
      const refusal = await transfer(w.owner, group, parent);
      expect(refusal.code).toBe("save_failed");
      expect(refusal.toGitLabBody()).toEqual({ message: `Transfer failed: ${reason}` });
    }
  });

  it("refuses a project transfer as Projects::TransferService does, after change_namespace on the project", async () => {
    const transfer = (actor_user_id: number, namespace_id: number) =>
      env.refusal("project.transfer", { actor_user_id, project_id: w.project, namespace_id });
    expect((await transfer(w.maintainer, 999_999)).code).toBe("forbidden");
    expect((await transfer(w.owner, 999_999)).toGitLabBody()).toEqual({ message: "404 Namespace Not Found" });
    const failures = [
      [w.top, "Project is already in this namespace."],
      [w.dev, "You don't have permission to transfer projects into that namespace."],
      [w.maint, "Project with same name or path in target namespace already exists"],
    ] as const;
    for (const [namespace, reason] of failures) {
      const refusal = await transfer(w.owner, namespace);
      expect(refusal.code).toBe("validation_failed");
      expect(refusal.fields).toEqual({ new_namespace: [reason] });
    }
  });
});
