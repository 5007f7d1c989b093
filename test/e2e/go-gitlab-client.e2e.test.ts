import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { debianClientOutput, INVALID_AGENT_NAME_MESSAGE, seenByClient } from "./gitlab-client-driver.ts";
import { kasmapSystemForFile } from "./system-for-file.ts";

/**
 * Issue 10: a GitLab client from another language, unchanged, against Kasmap. Debian's
 * golang-github-xanzy-go-gitlab-dev (go-gitlab) lives under /usr/share/gocode, built by Debian's
 * golang-go in GOPATH mode (no module download: only Debian's packages are reachable); `.ci/run`
 * installs both. The driver is built once per run, before the system starts; without the
 * packages this test fails, naming them.
 */
const GO = "/usr/bin/go";
const DRIVER_SOURCE = fileURLToPath(new URL("./clients/go", import.meta.url));

let buildDir: string;
let driver: string;
beforeAll(async () => {
  buildDir = await mkdtemp(join(tmpdir(), "kasmap-go-gitlab-"));
  driver = join(buildDir, "go-gitlab-drive");
  await debianClientOutput(
    ["golang-go", "golang-github-xanzy-go-gitlab-dev"],
    GO,
    ["build", "-o", driver, "."],
    {
      cwd: DRIVER_SOURCE,
      env: {
        ...process.env,
        GO111MODULE: "off",
        GOPATH: "/usr/share/gocode",
        // Kept between runs (a cold build compiles go-gitlab and its dependencies); no HOME needed.
        GOCACHE: process.env.GOCACHE ?? join(tmpdir(), "kasmap-e2e-go-cache"),
      },
    },
  );
}, 300_000);
afterAll(async () => {
  if (buildDir) await rm(buildDir, { recursive: true, force: true });
});
const system = kasmapSystemForFile();

describe("go-gitlab (Debian golang-github-xanzy-go-gitlab-dev) against Kasmap", () => {
  it("creates groups and projects, registers, pages, gets and deletes agents, mints and revokes tokens, and reads GitLab's errors", async () => {
    const seen = await seenByClient(system, driver);
    expect(seen).toEqual({
      project_id: expect.any(Number),
      subgroup_full_path: "golang/clients",
      subgroup_by_path_id: true,
      project_by_id: "golang/clients/infra",
      project_by_path_id: true,
      // Two a page: the client followed X-Next-Page over three pages.
      agent_names: ["agent-00", "agent-01", "agent-02", "agent-03", "agent-04"],
      agent_pages: 3,
      agent_config_project: "golang/clients/infra",
      agent_created_by_user_id: expect.any(Number),
      agent_get_name: "agent-00",
      after_delete_count: 4,
      token_prefix: "glagent-",
      token_list_names: ["collector"],
      token_get_status: "active",
      token_list_after_revoke: 0,
      // go-gitlab flattens GitLab's error body into `{key: value}`.
      error_revoked_token: { status: 404, message: "{message: 404 Not found}" },
      error_invalid_name: { status: 400, message: `{message: ${INVALID_AGENT_NAME_MESSAGE}}` },
      error_unknown_agent: { status: 404, message: "{message: 404 Not found}" },
      error_unknown_project: { status: 404, message: "{message: 404 Project Not Found}" },
      error_no_token: { status: 401, message: "{message: 401 Unauthorized}" },
      error_bad_private_token: { status: 401, message: "{message: 401 Unauthorized}" },
      error_bad_bearer_token: { status: 401, message: "{message: 401 Unauthorized}" },
      audit_event_count: expect.any(Number),
      audit_event_entities: [`Project ${seen.project_id}`],
      // GitLab's entity (issue 10 item 5): go-gitlab reads the target type, entity path and
      // message from `details`, where GitLab's API::Entities::AuditEvent puts them.
      audit_details_target_types: expect.arrayContaining(["Clusters::Agent"]),
      audit_details_entity_paths: ["golang/clients/infra"],
      audit_details_has_created_message: true,
      audit_single_same: true,
      audit_instance_single_entity: `Project ${seen.project_id}`,
      error_unknown_audit_event: { status: 404, message: "{message: 404 Not found}" },
    });
    expect(seen.agent_created_by_user_id).toBeGreaterThan(0);
    expect(seen.audit_event_count).toBeGreaterThan(0);
    // `Project`: the target of `cluster_agent_create_failed`, the driver's refused invalid name.
    for (const type of seen.audit_details_target_types as string[]) {
      expect(["Clusters::Agent", "Clusters::AgentToken", "Project"]).toContain(type);
    }
  });
});
