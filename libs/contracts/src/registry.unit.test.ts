import { describe, expect, it } from "vitest";
import { AUTHZ_COMMANDS } from "./commands.ts";
import { GroupChangedDataSchema } from "./events.ts";
import { AgentTokenSchema } from "./registry.ts";
import { ProjectResponseSchema } from "./rest-documented.ts";

describe("namespaces", () => {
  const group = {
    id: 7,
    name: "Acme",
    path: "acme",
    description: null,
    parent_id: null,
    traversal_ids: [7],
    full_path: "acme",
    full_name: "Acme",
    created_at: "2024-06-01T00:00:00.000Z",
  };

  it("reads a group event written before personal namespaces existed as a group", () => {
    const parsed = GroupChangedDataSchema.parse({ group, actor_user_id: null });
    expect(parsed.group).toMatchObject({ kind: "group", owner_id: null });
  });

  it("carries a personal namespace's kind and owner", () => {
    const parsed = GroupChangedDataSchema.parse({
      group: { ...group, kind: "user", owner_id: 3, path: "alice", full_path: "alice" },
      actor_user_id: 1,
    });
    expect(parsed.group).toMatchObject({ kind: "user", owner_id: 3 });
  });

  it("a project body's namespace may be a user's", () => {
    const body = {
      id: 1,
      description: null,
      name: "app",
      name_with_namespace: "Alice / app",
      path: "app",
      path_with_namespace: "alice/app",
      created_at: "2024-06-01T00:00:00.000Z",
      namespace: { id: 2, name: "Alice", path: "alice", kind: "user", full_path: "alice", parent_id: null },
      creator_id: 3,
    };
    expect(ProjectResponseSchema.parse(body).namespace.kind).toBe("user");
  });
});

describe("agent token names", () => {
  // 255 astral characters are 510 UTF-16 units: GitLab's model (and the gateway) count 255.
  const name = "🚀".repeat(255);

  it("takes a name of 255 characters in the create command and in the token's events, not 256", () => {
    const request = { actor_user_id: 1, project_id: 1, agent_id: 1, name, description: "🚀".repeat(1024) };
    expect(AUTHZ_COMMANDS["agent_token.create"].request.safeParse(request).success).toBe(true);
    const tooLong = { ...request, name: `${name}🚀` };
    expect(AUTHZ_COMMANDS["agent_token.create"].request.safeParse(tooLong).success).toBe(false);
    const token = {
      id: 1,
      agent_id: 1,
      name,
      description: null,
      status: "active",
      token_sha256: "a".repeat(64),
      created_at: "2026-12-03T00:00:00.000Z",
      created_by_user_id: 1,
      last_used_at: null,
    };
    expect(AgentTokenSchema.safeParse(token).success).toBe(true);
    expect(AgentTokenSchema.safeParse({ ...token, name: "" }).success).toBe(false);
  });
});
