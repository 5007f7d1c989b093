import { fileURLToPath } from "node:url";
import { GITLAB_AUDIT_EVENT_KEYS } from "@kasmap/testing";
import { describe, expect, it } from "vitest";
import { debianClientOutput, INVALID_AGENT_NAME_MESSAGE, seenByClient } from "./gitlab-client-driver.ts";
import { kasmapSystemForFile } from "./system-for-file.ts";

/**
 * Issue 10: a GitLab client from another language, unchanged, against Kasmap. Debian's
 * python3-gitlab is importable by Debian's own python3 (`/usr/bin/python3`), not by a python3
 * elsewhere on PATH; `.ci/run` installs it. Without it this test fails, naming the package.
 */
const PYTHON = "/usr/bin/python3";
const DRIVER = fileURLToPath(new URL("./clients/python_gitlab_drive.py", import.meta.url));
const system = kasmapSystemForFile();

describe("python-gitlab (Debian python3-gitlab) against Kasmap", () => {
  it("creates groups and projects, registers, pages, gets and deletes agents, mints and revokes tokens, and reads GitLab's errors", async () => {
    const version = await debianClientOutput(["python3-gitlab"], PYTHON, [
      "-c",
      "import gitlab; print(gitlab.__version__)",
    ]);
    const seen = await seenByClient(system, PYTHON, [DRIVER]);
    const names = Array.from({ length: 23 }, (_, i) => `agent-${String(i).padStart(2, "0")}`);
    expect(seen).toEqual({
      client_version: version,
      subgroup_full_path: "python/clients",
      // GET /groups, one group a page: the client followed the pages.
      groups_listed: ["python", "python/clients"],
      groups_top_level: ["python"],
      project_by_id: "python/clients/infra",
      project_by_path_id: true,
      // More than one page (20 a page): the client followed the Link headers.
      agent_names: names,
      agent_keys: ["config_project", "created_at", "created_by_user_id", "id", "name"],
      per_page_500_count: 23,
      agent_get_name: "agent-00",
      after_delete_count: 22,
      token_prefix: "glagent-",
      token_list_names: ["collector"],
      token_list_after_revoke: 0,
      error_invalid_name: { status: 400, message: INVALID_AGENT_NAME_MESSAGE },
      error_unknown_agent: { status: 404, message: "404 Not found" },
      error_unknown_project: { status: 404, message: "404 Project Not Found" },
      error_no_token: { status: 401, message: "401 Unauthorized" },
      error_bad_token: { status: 401, message: "401 Unauthorized" },
      audit_event_count: expect.any(Number),
      // GitLab's API::Entities::AuditEvent (issue 10 item 5): seven keys, the target in details.
      audit_event_keys: [...GITLAB_AUDIT_EVENT_KEYS],
      audit_details_target_types: expect.arrayContaining(["Clusters::Agent"]),
      audit_keyset_descending: true,
      audit_keyset_covers_offset: true,
      audit_single_same: true,
      error_unknown_audit_event: { status: 404, message: "404 Not found" },
      error_keyset_order: {
        status: 405,
        message: "Keyset pagination is not yet available for this type of request",
      },
    });
    // 23 agents created: more than one keyset page of 5.
    expect(seen.audit_event_count).toBeGreaterThan(5);
  });
});
