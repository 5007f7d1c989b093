import type { FastifyRequest } from "fastify";
import { describe, expect, it } from "vitest";
import {
  clientIpAddress,
  DIRECT_ACCESS,
  externalBaseUrl,
  externalUrlSettings,
  requestUrl,
} from "./request-url.ts";

const PATH = "/api/v4/projects/1/cluster_agents?per_page=1";

function request(
  host: string,
  options: { headers?: Record<string, string>; peer?: string; url?: string } = {},
): FastifyRequest {
  const fake = {
    url: options.url ?? PATH,
    protocol: "http",
    host,
    headers: options.headers ?? {},
    socket: { localAddress: "127.0.0.1", localPort: 8080, remoteAddress: options.peer ?? "203.0.113.9" },
  };
  return fake as unknown as FastifyRequest;
}

describe("requestUrl", () => {
  it.each([
    ["kasmap.example.com", `http://kasmap.example.com${PATH}`],
    ["kasmap.example.com:8443", `http://kasmap.example.com:8443${PATH}`],
    ["[::1]:8080", `http://[::1]:8080${PATH}`],
  ])("keeps a plain Host %s", (host, url) => {
    expect(requestUrl(request(host), DIRECT_ACCESS).toString()).toBe(url);
  });

  it.each(["", "a b", "x:99999999999", "[::1", "u@h", "a/b", "%00", "\u00e9"])(
    "falls back to the local address for Host %j",
    (host) => {
      expect(requestUrl(request(host), DIRECT_ACCESS).toString()).toBe(`http://127.0.0.1:8080${PATH}`);
    },
  );

  it("leaves credentials given as query parameters (and live tickets) out of the links", () => {
    const url =
      "/api/v4/projects/1/cluster_agents?private_token=glpat-secret&job_token=j&ticket=kmlive-x&page=2";
    expect(requestUrl(request("gw.test", { url }), DIRECT_ACCESS).toString()).toBe(
      "http://gw.test/api/v4/projects/1/cluster_agents?page=2",
    );
  });

  it("uses KASMAP_EXTERNAL_URL, path prefix included, whatever Host and X-Forwarded-* say", () => {
    const settings = externalUrlSettings("https://kasmap.example.com/kasmap/", "203.0.113.0/24");
    const forwarded = { "x-forwarded-host": "evil.test", "x-forwarded-proto": "http" };
    const req = request("internal:8080", { headers: forwarded });
    expect(externalBaseUrl(req, settings).toString()).toBe("https://kasmap.example.com/kasmap");
    expect(requestUrl(req, settings).toString()).toBe(`https://kasmap.example.com/kasmap${PATH}`);
  });
});

describe("externalBaseUrl behind a proxy", () => {
  const settings = externalUrlSettings(undefined, "10.0.0.0/8, 2001:db8::/32, 192.0.2.7");
  const forwarded = {
    "x-forwarded-proto": "https",
    "x-forwarded-host": "client.example.com",
    "x-forwarded-port": "8443",
  };

  it.each(["10.1.2.3", "::ffff:10.1.2.3", "2001:db8::5", "192.0.2.7"])(
    "believes X-Forwarded-* from the trusted peer %s",
    (peer) => {
      expect(
        externalBaseUrl(request("internal:8080", { headers: forwarded, peer }), settings).toString(),
      ).toBe("https://client.example.com:8443/");
    },
  );

  it("ignores X-Forwarded-* from a peer not listed", () => {
    const req = request("internal:8080", { headers: forwarded, peer: "192.0.2.8" });
    expect(externalBaseUrl(req, settings).toString()).toBe("http://internal:8080/");
  });

  it("reads the last value of each list (the one the nearest proxy added)", () => {
    const headers = {
      "x-forwarded-proto": "http, https",
      "x-forwarded-host": "spoofed.test, client.example.com",
    };
    const req = request("internal:8080", { headers, peer: "10.0.0.1" });
    expect(externalBaseUrl(req, settings).toString()).toBe("https://client.example.com/");
  });

  it.each<Record<string, string>>([
    { "x-forwarded-host": "a b" },
    { "x-forwarded-host": "u@h" },
    { "x-forwarded-proto": "gopher" },
    { "x-forwarded-port": "99999" },
    { "x-forwarded-port": "80a" },
  ])("falls back to Host for malformed forwarded headers %j", (headers) => {
    const req = request("internal:8080", { headers, peer: "10.0.0.1" });
    expect(externalBaseUrl(req, settings).toString()).toBe("http://internal:8080/");
  });

  it.each(["10.0.0.0/33", "not-an-ip", "10.0.0.0/", "::/129"])(
    "refuses the trusted proxy %j at start",
    (entry) => {
      expect(() => externalUrlSettings(undefined, entry)).toThrow(/KASMAP_TRUSTED_PROXIES/);
    },
  );

  it("refuses a KASMAP_EXTERNAL_URL that is not http(s)", () => {
    expect(() => externalUrlSettings("ftp://kasmap.example.com", undefined)).toThrow(/KASMAP_EXTERNAL_URL/);
  });
});

describe("clientIpAddress", () => {
  const settings = externalUrlSettings(undefined, "10.0.0.0/8, 2001:db8::/32");
  const from = (peer: string, forwardedFor?: string) =>
    clientIpAddress(
      request("kasmap:8080", {
        peer,
        headers: forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor },
      }),
      settings,
    );

  it.each([
    ["a direct client, whatever it claims", "203.0.113.9", "198.51.100.1", "203.0.113.9"],
    ["an IPv4-mapped peer", "::ffff:203.0.113.9", undefined, "203.0.113.9"],
    ["a trusted proxy naming its client", "10.0.0.2", "198.51.100.1", "198.51.100.1"],
    [
      "two trusted proxies: the first untrusted hop from the right",
      "10.0.0.2",
      "6.6.6.6, 198.51.100.1, 10.0.0.3",
      "198.51.100.1",
    ],
    ["a trusted IPv6 proxy", "2001:db8::1", "2001:db8:ffff::9", "2001:db8:ffff::9"],
    ["a trusted proxy without the header", "10.0.0.2", undefined, "10.0.0.2"],
    ["garbage in the header ends the walk", "10.0.0.2", "198.51.100.1, not-an-ip", "10.0.0.2"],
    ["only trusted hops: the leftmost", "10.0.0.2", "10.0.0.5, 10.0.0.4", "10.0.0.5"],
  ])("%s", (_case, peer, forwardedFor, expected) => {
    expect(from(peer, forwardedFor)).toBe(expected);
  });

  it("is null without a peer address", () => {
    const fake = { headers: {}, socket: {} } as unknown as FastifyRequest;
    expect(clientIpAddress(fake, DIRECT_ACCESS)).toBeNull();
  });
});
