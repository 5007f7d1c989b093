import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { debianClientOutput, INVALID_AGENT_NAME_MESSAGE, seenByClient } from "./gitlab-client-driver.ts";
import { kasmapSystemForFile } from "./system-for-file.ts";

/**
 * Issue 10: a GitLab client from another language, unchanged, against Kasmap. Debian's
 * ruby-gitlab (the `gitlab` gem) is loadable by Debian's own ruby (`/usr/bin/ruby`); `.ci/run`
 * installs it. Without it this test fails, naming the package.
 */
const RUBY = "/usr/bin/ruby";
const DRIVER = fileURLToPath(new URL("./clients/ruby_gitlab_drive.rb", import.meta.url));
const system = kasmapSystemForFile();

/** The gem's sentence for a refused call, as a Ruby user reads it in the exception. */
function gemError(status: number, message: string, path: string) {
  return {
    status,
    message: `Server responded with code ${status}, message: ${message}. Request URI: <endpoint>${path}`,
  };
}

describe("the gitlab gem (Debian ruby-gitlab) against Kasmap", () => {
  it("creates groups and projects, registers, pages, gets and deletes agents, mints and revokes tokens, and reads GitLab's errors", async () => {
    const version = await debianClientOutput(["ruby-gitlab"], RUBY, [
      "-e",
      'require "gitlab"; puts Gitlab::VERSION',
    ]);
    const seen = await seenByClient(system, RUBY, [DRIVER]);
    const agents = `/projects/${seen.project_id}/cluster_agents`;
    expect(seen).toEqual({
      client_version: version,
      subgroup_full_path: "ruby/clients",
      subgroup_by_path_id: true,
      project_by_id: "ruby/clients/infra",
      project_by_path_id: true,
      // Two a page: the gem followed the Link headers over three pages.
      agent_names: ["agent-00", "agent-01", "agent-02", "agent-03", "agent-04"],
      agent_pages: 3,
      agent_keys: ["config_project", "created_at", "created_by_user_id", "id", "name"],
      agent_get_name: "agent-00",
      after_delete_count: 4,
      token_prefix: "glagent-",
      token_list_names: ["collector"],
      token_list_after_revoke: 0,
      error_invalid_name: gemError(400, INVALID_AGENT_NAME_MESSAGE, agents),
      error_unknown_agent: gemError(404, "404 Not found", `${agents}/999999`),
      error_unknown_project: gemError(404, "404 Project Not Found", "/projects/ruby%2Fnowhere"),
      error_no_token: gemError(401, "401 Unauthorized", agents),
      error_bad_private_token: gemError(401, "401 Unauthorized", "/user"),
      error_bad_bearer_token: gemError(401, "401 Unauthorized", "/user"),
      audit_event_count: expect.any(Number),
      audit_event_entities: [["Project", seen.project_id]],
      audit_details_target_types: expect.arrayContaining(["Clusters::Agent"]),
      audit_keyset_descending: true,
      audit_keyset_covers_offset: true,
      audit_keyset_more_than_one_page: true,
      audit_single_id: true,
      error_unknown_audit_event: gemError(
        404,
        "404 Not found",
        `/projects/${seen.project_id}/audit_events/999999999`,
      ),
      project_id: expect.any(Number),
    });
    expect(seen.audit_event_count).toBeGreaterThan(0);
  });
});
