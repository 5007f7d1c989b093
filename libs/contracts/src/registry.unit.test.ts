import { describe, expect, it } from "vitest";
import { GroupChangedDataSchema } from "./events.ts";
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
