import { type CiAccessConfig, digestToken } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import type { Kysely } from "kysely";
import { IDS, insertAgent, OTHER_PROJECT, PROJECT, ROOT_GROUP, SUB_GROUP } from "./gateway-fixture.ts";
import { groupRow, projectRow } from "./registry-rows.ts";

/**
 * Read-model rows for the allowed-agents routes, on top of the gateway fixture's registry
 * (acme (10) ⊃ acme/platform (11) ⊃ project 20; project 21 in acme):
 *
 *   acme (10)                             other-root (30)
 *   ├── platform (11) ── infra  (20)      └── foreign (31)
 *   ├── apps (12) ────── web    (22)
 *   └── other            (21)
 */
export const APPS_GROUP = 12;
export const OTHER_ROOT = 30;
export const WEB_PROJECT = 22;
export const FOREIGN_PROJECT = 31;

/** Agent ids by what they exercise. */
export const AGENTS = {
  own: 500, // registered in project 20: implicit; also a group row on acme, which loses
  explicit: 501, // project row for 20 and a group row for platform: explicit wins
  groups: 502, // group rows for acme and platform: innermost (platform) wins
  sibling: 503, // group row for apps only: never grants to 20
  foreign: 504, // configuration project under another root: never eligible
  cousin: 505, // configuration project in apps (same root, not an ancestor): flag-dependent
  prodOnly: 506, // environments [production], protected branches only
  review: 507, // environments [review/*]
  unseen: 508, // in the other root, no rows for 20: invisible to acme members
} as const;

export const JOB_TOKENS = {
  review: "glcbt-review",
  unknownProtection: "glcbt-unknown",
  production: "glcbt-production",
  finished: "glcbt-finished",
  reporter: "glcbt-reporter",
} as const;

export async function insertAllowedAgentsRegistry(db: Kysely<ReadModelDatabase>): Promise<void> {
  await db
    .insertInto("read_model.groups")
    .values([
      groupRow({
        id: APPS_GROUP,
        path: "apps",
        traversal_ids: [ROOT_GROUP, APPS_GROUP],
        full_path: "acme/apps",
      }),
      groupRow({ id: OTHER_ROOT, path: "other-root", traversal_ids: [OTHER_ROOT], full_path: "other-root" }),
    ])
    .execute();
  await db
    .insertInto("read_model.projects")
    .values([
      projectRow({
        id: WEB_PROJECT,
        path_with_namespace: "acme/apps/web",
        name_with_namespace: "acme/apps / web",
        traversal_ids: [ROOT_GROUP, APPS_GROUP],
      }),
      projectRow({
        id: FOREIGN_PROJECT,
        path_with_namespace: "other-root/foreign",
        name_with_namespace: "other-root / foreign",
        traversal_ids: [OTHER_ROOT],
      }),
    ])
    .execute();
  await insertAgent(db, AGENTS.own, "own", PROJECT);
  for (const id of [AGENTS.explicit, AGENTS.groups, AGENTS.sibling, AGENTS.prodOnly, AGENTS.review]) {
    await insertAgent(db, id, `agent-${id}`, OTHER_PROJECT);
  }
  await insertAgent(db, AGENTS.foreign, "foreign", FOREIGN_PROJECT);
  await insertAgent(db, AGENTS.unseen, "unseen", FOREIGN_PROJECT);
  await insertAgent(db, AGENTS.cousin, "cousin", WEB_PROJECT);
  await insertCiRows(db);
  await insertJobs(db);
}

async function insertCiRows(db: Kysely<ReadModelDatabase>): Promise<void> {
  const projectRow = (agent_id: number, config: CiAccessConfig) => ({
    agent_id,
    project_id: PROJECT,
    config: JSON.stringify(config),
  });
  await db
    .insertInto("read_model.ci_access_project_authorizations")
    .values([
      projectRow(AGENTS.explicit, { default_namespace: "explicit" }),
      projectRow(AGENTS.prodOnly, { environments: ["production"], protected_branches_only: true }),
      projectRow(AGENTS.review, { environments: ["review/*"], access_as: { ci_job: {} } }),
    ])
    .execute();
  const groupRow = (agent_id: number, group_id: number, config: CiAccessConfig) => ({
    agent_id,
    group_id,
    config: JSON.stringify(config),
  });
  await db
    .insertInto("read_model.ci_access_group_authorizations")
    .values([
      groupRow(AGENTS.own, ROOT_GROUP, { default_namespace: "from-group" }),
      groupRow(AGENTS.explicit, SUB_GROUP, { default_namespace: "from-group" }),
      groupRow(AGENTS.groups, ROOT_GROUP, { default_namespace: "outer" }),
      groupRow(AGENTS.groups, SUB_GROUP, { default_namespace: "inner" }),
      groupRow(AGENTS.sibling, APPS_GROUP, {}),
      groupRow(AGENTS.foreign, ROOT_GROUP, {}),
      groupRow(AGENTS.cousin, SUB_GROUP, { default_namespace: "cousin" }),
    ])
    .execute();
}

async function insertJobs(db: Kysely<ReadModelDatabase>): Promise<void> {
  const job = (
    id: number,
    token: string,
    userId: number,
    refProtected: boolean | null,
    environment: { name: string; tier: string; slug: string } | null,
    status = "running",
  ) => ({
    id,
    project_id: PROJECT,
    pipeline_id: 40 + id,
    user_id: userId,
    ref: "main",
    ref_protected: refProtected,
    environment: environment === null ? null : JSON.stringify(environment),
    status,
    token_sha256: digestToken(token),
    // A job token works for a limited time after the job was registered: these started now.
    created_at: new Date().toISOString(),
  });
  await db
    .insertInto("read_model.jobs")
    .values([
      job(2, JOB_TOKENS.review, IDS.developer, false, {
        name: "review/feat-1",
        tier: "development",
        slug: "review-feat-abc",
      }),
      job(3, JOB_TOKENS.unknownProtection, IDS.developer, null, {
        name: "production",
        tier: "production",
        slug: "production",
      }),
      job(4, JOB_TOKENS.production, IDS.developer, true, {
        name: "production",
        tier: "production",
        slug: "production",
      }),
      job(5, JOB_TOKENS.finished, IDS.developer, true, null, "finished"),
      // Registered when its user was still a Developer; a Reporter's job token does not work.
      job(6, JOB_TOKENS.reporter, IDS.reporter, false, null),
    ])
    .execute();
}
