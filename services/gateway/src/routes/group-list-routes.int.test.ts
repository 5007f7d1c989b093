import { beforeAll, describe, expect, it } from "vitest";
import { gatewayFixtureForFile, IDS, ROOT_GROUP, SUB_GROUP, TOKENS } from "../testing/gateway-fixture.ts";
import { groupRow, projectRow } from "../testing/registry-rows.ts";

/**
 * `GET /api/v4/groups` (GitLab's "List groups") against the fixture's registry and a few more
 * groups: `zeta` (outsider is its Owner) with `zeta/ops`, `beta` with `beta/deep` (reporter is a
 * Maintainer of the subgroup only), a project in the personal namespace `reporter`, and `hidden`,
 * which nobody but an administrator may see. The fixture's developer belongs to `acme`, its
 * reporter to the project `acme/platform/infra`.
 */
const f = gatewayFixtureForFile();
const [ZETA, OPS, BETA, DEEP, HIDDEN, PERSONAL] = [30, 31, 32, 33, 34, 35];

beforeAll(async () => {
  await f.db
    .insertInto("read_model.groups")
    .values([
      groupRow({ id: ZETA, name: "Zeta", path: "zeta", traversal_ids: [ZETA], full_path: "zeta" }),
      groupRow({ id: OPS, name: "Ops", path: "ops", traversal_ids: [ZETA, OPS], full_path: "zeta/ops" }),
      groupRow({ id: BETA, name: "Beta", path: "beta", traversal_ids: [BETA], full_path: "beta" }),
      groupRow({ id: DEEP, name: "Deep", path: "deep", traversal_ids: [BETA, DEEP], full_path: "beta/deep" }),
      groupRow({ id: HIDDEN, name: "Hidden", path: "hidden", traversal_ids: [HIDDEN], full_path: "hidden" }),
      {
        ...groupRow({ id: PERSONAL, path: "reporter", traversal_ids: [PERSONAL], full_path: "reporter" }),
        kind: "user",
        owner_id: IDS.reporter,
      },
    ])
    .execute();
  await f.db
    .insertInto("read_model.projects")
    .values(
      projectRow({
        id: 40,
        path_with_namespace: "reporter/notes",
        name_with_namespace: "reporter / notes",
        traversal_ids: [PERSONAL],
      }),
    )
    .execute();
  await f.db
    .insertInto("read_model.memberships")
    .values([
      { id: 10, user_id: IDS.outsider, source_type: "group", source_id: ZETA, access_level: 50 },
      { id: 11, user_id: IDS.reporter, source_type: "group", source_id: DEEP, access_level: 40 },
      { id: 12, user_id: IDS.reporter, source_type: "project", source_id: 40, access_level: 50 },
    ])
    .execute();
});

async function list(query: string, token: string) {
  const response = await f.call(`/api/v4/groups${query}`, { token });
  const body = await response.json();
  return {
    status: response.status,
    paths: Array.isArray(body) ? body.map((group: { full_path: string }) => group.full_path) : body,
    headers: response.headers,
  };
}
const paths = async (query: string, token: string) => (await list(query, token)).paths;

describe("GET /api/v4/groups", () => {
  it("lists a user's groups, their subgroups and the groups above, never anything else", async () => {
    expect(await paths("", TOKENS.developer)).toEqual(["acme", "acme/platform"]);
    // A project member sees the groups above the project; a subgroup member the group above it.
    expect(await paths("", TOKENS.reporter)).toEqual(["acme", "beta", "beta/deep", "acme/platform"]);
    expect(await paths("", TOKENS.outsider)).toEqual(["zeta/ops", "zeta"]);
    // all_available adds GitLab's public and internal groups: Kasmap has none.
    expect(await paths("?all_available=true", TOKENS.outsider)).toEqual(["zeta/ops", "zeta"]);
    for (const token of [TOKENS.developer, TOKENS.reporter, TOKENS.outsider]) {
      for (const query of ["", "?all_available=true", "?search=hidden", "?order_by=id&per_page=100"]) {
        expect(await paths(query, token)).not.toContain("hidden");
      }
    }
  });

  it("lists every group to an administrator, unless all_available=false; never personal namespaces", async () => {
    expect(await paths("", TOKENS.admin)).toEqual([
      "acme",
      "beta",
      "beta/deep",
      "hidden",
      "zeta/ops",
      "acme/platform",
      "zeta",
    ]);
    expect(await paths("?all_available=false", TOKENS.admin)).toEqual([]);
    expect(await paths("?search=reporter", TOKENS.admin)).toEqual([]);
  });

  it("answers GitLab's group body, the same as GET /groups/:id", async () => {
    const [listed] = (await (
      await f.call("/api/v4/groups?search=platform", { token: TOKENS.developer })
    ).json()) as unknown[];
    const single = await (await f.call(`/api/v4/groups/${SUB_GROUP}`, { token: TOKENS.developer })).json();
    expect(listed).toEqual(single);
    expect(listed).toMatchObject({ id: SUB_GROUP, parent_id: ROOT_GROUP, full_path: "acme/platform" });
  });

  it("filters by owned, min_access_level (inherited) and top_level_only", async () => {
    expect(await paths("?owned=true", TOKENS.outsider)).toEqual(["zeta"]);
    expect(await paths("?owned=true", TOKENS.reporter)).toEqual([]);
    expect(await paths("?min_access_level=50", TOKENS.outsider)).toEqual(["zeta/ops", "zeta"]);
    // A project membership gives no level on a group; a subgroup's level not on the group above.
    expect(await paths("?min_access_level=10", TOKENS.reporter)).toEqual(["beta/deep"]);
    expect(await paths("?min_access_level=30", TOKENS.developer)).toEqual(["acme", "acme/platform"]);
    expect(await paths("?min_access_level=40", TOKENS.developer)).toEqual([]);
    expect(await paths("?top_level_only=true", TOKENS.reporter)).toEqual(["acme", "beta"]);
    expect(await paths("?skip_groups=10,32", TOKENS.reporter)).toEqual(["beta/deep", "acme/platform"]);
  });

  it("searches names and paths, the parents' included", async () => {
    expect(await paths("?search=PLAT", TOKENS.developer)).toEqual(["acme/platform"]);
    expect(await paths("?search=acme", TOKENS.developer)).toEqual(["acme", "acme/platform"]);
    expect(await paths("?search=acme", TOKENS.outsider)).toEqual([]);
    expect(await paths("?search=%25", TOKENS.admin)).toEqual([]);
  });

  it("orders by name, path or id, ascending or descending", async () => {
    expect(await paths("?order_by=path", TOKENS.reporter)).toEqual([
      "acme",
      "beta",
      "beta/deep",
      "acme/platform",
    ]);
    expect(await paths("?order_by=name&sort=desc", TOKENS.reporter)).toEqual([
      "acme/platform",
      "beta/deep",
      "beta",
      "acme",
    ]);
    // GitLab's `similarity` without a search is its name order; Kasmap keeps it with one too.
    expect(await paths("?order_by=similarity", TOKENS.reporter)).toEqual(await paths("", TOKENS.reporter));
    expect(await paths("?order_by=id&sort=desc", TOKENS.reporter)).toEqual([
      "beta/deep",
      "beta",
      "acme/platform",
      "acme",
    ]);
  });

  it("paginates with GitLab's headers", async () => {
    const second = await list("?per_page=2&page=2&order_by=id", TOKENS.admin);
    expect(second.paths).toEqual(["zeta", "zeta/ops"]);
    expect(Object.fromEntries([...second.headers].filter(([name]) => name.startsWith("x-")))).toMatchObject({
      "x-page": "2",
      "x-per-page": "2",
      "x-next-page": "3",
      "x-prev-page": "1",
      "x-total": "7",
      "x-total-pages": "4",
    });
    expect(second.headers.get("link")).toContain('per_page=2&page=3&order_by=id>; rel="next"');
    const past = await list("?per_page=2&page=9", TOKENS.admin);
    expect(past.paths).toEqual([]);
    expect(past.headers.get("x-total")).toBe("7");
  });

  it("refuses bad parameters and missing credentials as GitLab's API does", async () => {
    expect(await list("?min_access_level=15", TOKENS.developer)).toMatchObject({ status: 400 });
    expect(await list("?order_by=size", TOKENS.developer)).toMatchObject({ status: 400 });
    // Grape's `values:` wording for a value outside the list; a non-number stays `is invalid`.
    for (const [query, error] of [
      ["?order_by=bogus", "order_by does not have a valid value"],
      ["?sort=up", "sort does not have a valid value"],
      ["?min_access_level=25", "min_access_level does not have a valid value"],
      ["?min_access_level=abc", "min_access_level is invalid"],
    ] as const) {
      expect(await list(query, TOKENS.developer)).toMatchObject({ status: 400, paths: { error } });
    }
    expect(await list("?owned=maybe", TOKENS.developer)).toMatchObject({ status: 400 });
    expect(await paths("?owned=True", TOKENS.outsider)).toEqual(["zeta"]);
    expect(await paths("?visibility=public", TOKENS.admin)).toEqual([]);
    expect((await f.call("/api/v4/groups")).status).toBe(401);
    expect((await list("", TOKENS.blocked)).status).toBe(403);
  });
});
