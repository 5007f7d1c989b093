import { describe, expect, it } from "vitest";
import type { KubeObject } from "./kube-object.ts";
import { InvalidContinueError, paginate, parseContinue, parseListQuery, selectedName } from "./list-query.ts";

const items: KubeObject[] = ["a", "b", "c", "d", "e"].map((name) => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: { name },
}));

describe("paginate", () => {
  it("returns everything without a limit", () => {
    expect(paginate(items, undefined, undefined, 7)).toEqual({
      items,
      continueToken: undefined,
      remainingItemCount: undefined,
      resourceVersion: 7,
    });
  });

  it("walks all pages with continue tokens", () => {
    const names: string[] = [];
    let token: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const page = paginate(items, 2, parseContinue(token), 7 + pages);
      expect(page.resourceVersion).toBe(7);
      names.push(...page.items.map((o) => o.metadata.name));
      if (page.continueToken === undefined) break;
      token = page.continueToken;
    }
    expect(names).toEqual(["a", "b", "c", "d", "e"]);
  });

  it("reports how many items remain", () => {
    expect(paginate(items, 2, undefined, 7).remainingItemCount).toBe(3);
  });

  it("rejects a token it did not issue", () => {
    expect(() => parseContinue("not-a-token")).toThrow(InvalidContinueError);
  });
});

describe("selectedName", () => {
  it("finds the name a field selector narrows to", () => {
    const query = parseListQuery(new URLSearchParams({ fieldSelector: "metadata.name=k8s-cp-1" }), undefined);
    expect(selectedName(query)).toBe("k8s-cp-1");
    expect(selectedName(parseListQuery(new URLSearchParams(), undefined))).toBeUndefined();
  });
});
