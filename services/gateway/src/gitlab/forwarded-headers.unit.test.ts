import { describe, expect, it } from "vitest";
import { headersFromGitLab, headersToGitLab } from "./forwarded-headers.ts";

describe("headersToGitLab", () => {
  it("keeps the credential and the message headers, drops hop-by-hop ones, sets GitLab's Host", () => {
    const out = headersToGitLab(
      {
        host: "kasmap.example.com",
        "private-token": "glpat-x",
        "content-type": "application/json",
        "content-length": "12",
        "accept-encoding": "gzip",
        connection: "keep-alive, x-trace",
        "keep-alive": "timeout=5",
        "transfer-encoding": "chunked",
        te: "trailers",
        upgrade: "h2c",
        "proxy-authorization": "Basic abc",
        "x-trace": "named by Connection",
        "x-request-id": "r1",
      },
      "gitlab.example.com",
    );
    expect(out).toEqual({
      host: "gitlab.example.com",
      "private-token": "glpat-x",
      "content-type": "application/json",
      "content-length": "12",
      "accept-encoding": "gzip",
      "x-request-id": "r1",
    });
  });

  it("asks for an unencoded body when Kasmap must read it", () => {
    const out = headersToGitLab({ "accept-encoding": "gzip, br", accept: "*/*" }, "g", { identity: true });
    expect(out).toEqual({ accept: "*/*", host: "g" });
  });

  it("appends the client's address to X-Forwarded-For, after what earlier proxies wrote", () => {
    expect(headersToGitLab({}, "g", { clientAddress: "203.0.113.7" })["x-forwarded-for"]).toBe("203.0.113.7");
    const behindProxy = headersToGitLab({ "x-forwarded-for": "198.51.100.1, 10.0.0.2" }, "g", {
      clientAddress: "10.0.0.3",
    });
    expect(behindProxy["x-forwarded-for"]).toBe("198.51.100.1, 10.0.0.2, 10.0.0.3");
  });
});

describe("headersFromGitLab", () => {
  it("keeps GitLab's headers (pagination, cookies) but rewrites Link and drops hop-by-hop ones", () => {
    const out = headersFromGitLab(
      {
        "content-type": "application/json",
        "content-length": "2",
        "x-next-page": "2",
        "x-total": "40",
        "set-cookie": ["a=1", "b=2"],
        link: '<https://gitlab.example.com/api/v4/projects?page=2>; rel="next"',
        connection: "close",
        "transfer-encoding": "chunked",
      },
      new URL("https://gitlab.example.com"),
      new URL("http://kasmap.test:8080"),
    );
    expect(out).toEqual({
      "content-type": "application/json",
      "content-length": "2",
      "x-next-page": "2",
      "x-total": "40",
      "set-cookie": ["a=1", "b=2"],
      link: '<http://kasmap.test:8080/api/v4/projects?page=2>; rel="next"',
    });
  });

  it("drops what Kasmap re-wrote (the length of an enriched body)", () => {
    const out = headersFromGitLab(
      { "content-length": "10", "content-type": "application/json" },
      new URL("https://g"),
      new URL("https://k"),
      ["content-length"],
    );
    expect(out).toEqual({ "content-type": "application/json" });
  });

  it("points a Location into GitLab's API at Kasmap, and leaves any other Location alone", () => {
    const gitlab = new URL("https://gitlab.example.com");
    const kasmap = new URL("https://kasmap.example.com");
    const created = headersFromGitLab(
      { location: "https://gitlab.example.com/api/v4/projects/7/cluster_agents/3" },
      gitlab,
      kasmap,
    );
    expect(created.location).toBe("https://kasmap.example.com/api/v4/projects/7/cluster_agents/3");
    const signIn = headersFromGitLab(
      { location: "https://gitlab.example.com/users/sign_in" },
      gitlab,
      kasmap,
    );
    expect(signIn.location).toBe("https://gitlab.example.com/users/sign_in");
  });
});

describe("headersFromGitLab with Kasmap's URL as a function", () => {
  const gitlab = new URL("https://gitlab.example.com");
  it("works Kasmap's URL out only for an answer with a Link or Location header", () => {
    let asked = 0;
    const kasmap = () => {
      asked += 1;
      return new URL("https://kasmap.example.com");
    };
    headersFromGitLab({ "content-type": "application/json" }, gitlab, kasmap);
    expect(asked).toBe(0);
    const out = headersFromGitLab(
      {
        link: '<https://gitlab.example.com/api/v4/projects?page=2>; rel="next"',
        location: "https://gitlab.example.com/api/v4/projects/1",
      },
      gitlab,
      kasmap,
    );
    expect(asked).toBe(1);
    expect(out.link).toBe('<https://kasmap.example.com/api/v4/projects?page=2>; rel="next"');
    expect(out.location).toBe("https://kasmap.example.com/api/v4/projects/1");
  });
});
