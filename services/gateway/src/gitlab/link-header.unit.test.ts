import { describe, expect, it } from "vitest";
import { kasmapUrlFor, rewriteLinkHeader } from "./link-header.ts";

const GITLAB = new URL("https://gitlab.example.com");
const KASMAP = new URL("https://kasmap.example.com");

describe("rewriteLinkHeader", () => {
  it("points GitLab's offset pagination links at Kasmap, parameters and order kept", () => {
    const offsetLinks = (origin: string) =>
      `<${origin}/api/v4/projects?id=1&page=2&per_page=20>; rel="next", ` +
      `<${origin}/api/v4/projects?id=1&page=1&per_page=20>; rel="first", ` +
      `<${origin}/api/v4/projects?id=1&page=5&per_page=20>; rel="last"`;
    expect(rewriteLinkHeader(offsetLinks("https://gitlab.example.com"), GITLAB, KASMAP)).toBe(
      offsetLinks("https://kasmap.example.com"),
    );
  });

  it("rewrites keyset links (cursor in the query) as they are", () => {
    const link =
      '<https://gitlab.example.com/api/v4/projects?pagination=keyset&id_after=42&order_by=id>; rel="next"';
    expect(rewriteLinkHeader(link, GITLAB, KASMAP)).toBe(
      '<https://kasmap.example.com/api/v4/projects?pagination=keyset&id_after=42&order_by=id>; rel="next"',
    );
  });

  it("leaves other hosts, web pages and text that is no URL untouched", () => {
    const link = [
      '<https://elsewhere.example.com/api/v4/projects?page=2>; rel="next"',
      '<https://gitlab.example.com/help/api>; rel="help"',
      '<not a url>; rel="x"',
    ].join(", ");
    expect(rewriteLinkHeader(link, GITLAB, KASMAP)).toBe(link);
  });

  it("moves a GitLab under a relative URL root to a Kasmap under its own path", () => {
    expect(
      kasmapUrlFor(
        "http://GitLab.example.com:8443/gitlab/api/v4/groups/7/projects?page=3",
        new URL("https://gitlab.example.com:8443/gitlab/"),
        new URL("http://127.0.0.1:8080/kasmap"),
      ),
    ).toBe("http://127.0.0.1:8080/kasmap/api/v4/groups/7/projects?page=3");
    // The root alone is not the API: a page of GitLab's web UI stays GitLab's.
    expect(kasmapUrlFor("https://gitlab.example.com/api/v4x/a", GITLAB, KASMAP)).toBeNull();
    // The port is part of the host: another GitLab on the same name is not this one.
    expect(kasmapUrlFor("https://gitlab.example.com:444/api/v4/projects", GITLAB, KASMAP)).toBeNull();
  });
});
