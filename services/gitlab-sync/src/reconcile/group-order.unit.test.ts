import type { GitLabGroup } from "@kasmap/gitlab-api";
import { describe, expect, it } from "vitest";
import { ParentsFirst } from "./group-order.ts";

function group(id: number, parentId: number | null): GitLabGroup {
  return {
    id,
    name: `g${id}`,
    path: `g${id}`,
    full_path: `g${id}`,
    full_name: `g${id}`,
    description: null,
    parent_id: parentId,
    created_at: "2024-01-01T00:00:00Z",
  };
}

describe("ParentsFirst.addPage", () => {
  it("puts a child only after its parent's put has returned, even on the same page", async () => {
    const mirrored = new Set<number>();
    const order = new ParentsFirst(async (groups) => {
      for (const g of groups) {
        if (g.parent_id !== null && !mirrored.has(g.parent_id)) throw new Error(`parent of ${g.id} missing`);
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
      for (const g of groups) mirrored.add(g.id);
      return new Set(groups.map((g) => g.id));
    });
    // Children listed before their parents, three levels deep.
    await order.addPage([group(4, 3), group(3, 1), group(2, 1), group(1, null), group(5, null)]);
    expect([...mirrored].sort()).toEqual([1, 2, 3, 4, 5]);
    expect(order.orphans()).toEqual([]);
  });

  it("never puts the subtree of a refused group, nor a child whose parent never came", async () => {
    const order = new ParentsFirst(
      async (groups) => new Set(groups.filter((g) => g.id !== 1).map((g) => g.id)),
    );
    await order.addPage([group(1, null), group(2, 1), group(3, 99)]);
    expect(order.has(1)).toBe(false);
    expect(order.has(2)).toBe(false);
    expect(order.orphans().map((g) => g.id)).toEqual([2, 3]);
  });

  it("rejects with a put's failure", async () => {
    const order = new ParentsFirst(async (groups) => {
      if (groups.some((g) => g.id === 2)) throw new Error("authz unavailable");
      return new Set(groups.map((g) => g.id));
    });
    await expect(order.addPage([group(1, null), group(2, null)])).rejects.toThrow("authz unavailable");
  });
});
