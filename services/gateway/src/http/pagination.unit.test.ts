import { describe, expect, it } from "vitest";
import { pageOffset, paginationHeaders } from "./pagination.ts";

const url = new URL(
  "http://gw.test/api/v4/projects/1/cluster_agents?with_cluster_info=true&page=2&per_page=2",
);

describe("paginationHeaders", () => {
  it("gives GitLab's headers for a middle page, links built from the request URL", () => {
    const headers = paginationHeaders(url, { page: 2, perPage: 2 }, 5);
    expect(headers).toMatchObject({
      "x-page": "2",
      "x-per-page": "2",
      "x-next-page": "3",
      "x-prev-page": "1",
      "x-total": "5",
      "x-total-pages": "3",
    });
    const page = (n: number) =>
      `http://gw.test/api/v4/projects/1/cluster_agents?with_cluster_info=true&page=${n}&per_page=2`;
    expect(headers.link).toBe(
      `<${page(1)}>; rel="prev", <${page(3)}>; rel="next", <${page(1)}>; rel="first", <${page(3)}>; rel="last"`,
    );
  });

  it.each([
    { page: 1, total: 0, next: "", prev: "", pages: "1" },
    { page: 1, total: 20, next: "", prev: "", pages: "1" },
    { page: 1, total: 21, next: "2", prev: "", pages: "2" },
    { page: 2, total: 21, next: "", prev: "1", pages: "2" },
    { page: 3, total: 21, next: "", prev: "", pages: "2" },
    // Past the last page Kaminari is `out_of_range?`: no prev page, no `rel="prev"` (GitLab).
    { page: 9, total: 21, next: "", prev: "", pages: "2" },
    { page: 2, total: 0, next: "", prev: "", pages: "1" },
  ])("page $page of $total rows", ({ page, total, next, prev, pages }) => {
    const headers = paginationHeaders(url, { page, perPage: 20 }, total);
    expect([headers["x-next-page"], headers["x-prev-page"], headers["x-total-pages"]]).toEqual([
      next,
      prev,
      pages,
    ]);
    expect(headers.link).toContain('rel="first"');
    expect(headers.link?.includes('rel="next"')).toBe(next !== "");
    expect(headers.link?.includes('rel="prev"')).toBe(prev !== "");
  });

  it("computes the SQL offset", () => {
    expect(pageOffset({ page: 3, perPage: 20 })).toBe(40);
  });
});
