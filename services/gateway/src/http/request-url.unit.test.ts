import type { FastifyRequest } from "fastify";
import { describe, expect, it } from "vitest";
import { requestUrl } from "./request-url.ts";

function request(host: string): FastifyRequest {
  const fake = {
    url: "/api/v4/projects/1/cluster_agents?per_page=1",
    protocol: "http",
    host,
    socket: { localAddress: "127.0.0.1", localPort: 8080 },
  };
  return fake as unknown as FastifyRequest;
}

describe("requestUrl", () => {
  it.each([
    ["kasmap.example.com", "http://kasmap.example.com/api/v4/projects/1/cluster_agents?per_page=1"],
    ["kasmap.example.com:8443", "http://kasmap.example.com:8443/api/v4/projects/1/cluster_agents?per_page=1"],
    ["[::1]:8080", "http://[::1]:8080/api/v4/projects/1/cluster_agents?per_page=1"],
  ])("keeps a plain Host %s", (host, url) => {
    expect(requestUrl(request(host)).toString()).toBe(url);
  });

  it.each(["", "a b", "x:99999999999", "[::1", "u@h", "a/b", "%00", "\u00e9"])(
    "falls back to the local address for Host %j",
    (host) => {
      expect(requestUrl(request(host)).toString()).toBe(
        "http://127.0.0.1:8080/api/v4/projects/1/cluster_agents?per_page=1",
      );
    },
  );
});
