import { BlockList, isIP } from "node:net";
import type { FastifyRequest } from "fastify";

/**
 * Where Kasmap is reached from outside, for links it writes into answers (`Link` headers):
 * `KASMAP_EXTERNAL_URL` when set; else the `X-Forwarded-*` headers of a proxy listed in
 * `KASMAP_TRUSTED_PROXIES`; else the request's own `Host`.
 */
export type ExternalUrlSettings = {
  /** `KASMAP_EXTERNAL_URL` (scheme, host, port and an optional path prefix), or null. */
  readonly externalUrl: URL | null;
  /** Peers whose `X-Forwarded-Proto/Host/Port` are believed (`KASMAP_TRUSTED_PROXIES`). */
  readonly trustedProxies: BlockList;
};

/** No external URL configured and no proxy trusted: links follow the request's `Host`. */
export const DIRECT_ACCESS: ExternalUrlSettings = { externalUrl: null, trustedProxies: new BlockList() };

/**
 * `KASMAP_EXTERNAL_URL` and `KASMAP_TRUSTED_PROXIES` (comma-separated addresses or CIDRs, IPv4
 * or IPv6) as settings; throws naming the bad entry, so a typo stops the gateway at start.
 */
export function externalUrlSettings(
  externalUrl: string | undefined,
  trustedProxies: string | undefined,
): ExternalUrlSettings {
  const list = new BlockList();
  for (const entry of (trustedProxies ?? "").split(",").map((part) => part.trim())) {
    if (entry === "") continue;
    const [address = "", prefix] = entry.split("/");
    const family = isIP(address);
    const bits = prefix === undefined ? (family === 6 ? 128 : 32) : Number(prefix);
    const maxBits = family === 6 ? 128 : 32;
    if (family === 0 || !Number.isInteger(bits) || bits < 0 || bits > maxBits || prefix === "") {
      throw new Error(`KASMAP_TRUSTED_PROXIES: "${entry}" is not an IP address or CIDR`);
    }
    list.addSubnet(address, bits, family === 6 ? "ipv6" : "ipv4");
  }
  let url: URL | null = null;
  if (externalUrl !== undefined && externalUrl.trim() !== "") {
    url = new URL(externalUrl.trim());
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new Error("KASMAP_EXTERNAL_URL must be an http or https URL");
    }
    url.search = "";
    url.hash = "";
  }
  return { externalUrl: url, trustedProxies: list };
}

/** `name[:port]` or `[ipv6][:port]`: what RFC 9110 allows in `Host`, nothing that could add a path or userinfo. */
const HOST_HEADER = /^(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/;

/**
 * Kasmap's external base URL for this request: scheme, host, port and path prefix, without a
 * trailing slash in the path (`https://kasmap.example.com`, `https://example.com/kasmap`). Never
 * throws: a malformed `Host` or forwarded header falls back to the next source, and finally to
 * the address the connection arrived on.
 */
export function externalBaseUrl(request: FastifyRequest, settings: ExternalUrlSettings): URL {
  if (settings.externalUrl) {
    const base = new URL(settings.externalUrl.toString());
    base.pathname = base.pathname.replace(/\/+$/, "");
    return base;
  }
  const forwarded = fromTrustedProxy(request, settings.trustedProxies);
  if (forwarded) return forwarded;
  const host = validHost(request.host) ?? localHost(request);
  try {
    return new URL(`${request.protocol}://${host}`);
  } catch {
    return new URL(`${request.protocol}://${localHost(request)}`);
  }
}

/**
 * The URL the client called as seen from outside (the external base, then the raw path and
 * query), for pagination links. `private_token`, `job_token` and a live `ticket` are left out: a credential in a
 * query string must not travel on into `Link` headers, logs and caches.
 */
export function requestUrl(request: FastifyRequest, settings: ExternalUrlSettings): URL {
  const base = externalBaseUrl(request, settings);
  const called = new URL(request.url, "http://path.invalid");
  called.searchParams.delete("private_token");
  called.searchParams.delete("job_token");
  called.searchParams.delete("ticket");
  const url = new URL(base.toString());
  url.pathname = `${base.pathname.replace(/\/+$/, "")}${called.pathname}`;
  url.search = called.search;
  return url;
}

/**
 * The client's IP address, as Rails' `ActionDispatch::RemoteIp` reads it for GitLab's audit
 * `ip_address`: the connection's peer, unless the peer is a trusted proxy
 * (`KASMAP_TRUSTED_PROXIES`); then `X-Forwarded-For` read from the right, skipping trusted
 * proxies, up to the first address that is not one (an address a client wrote further left is
 * never believed). Entries that are no IP address end the walk. Null when the peer is unknown.
 */
export function clientIpAddress(request: FastifyRequest, settings: ExternalUrlSettings): string | null {
  const peer = peerAddress(request);
  if (peer === null) return null;
  let client = peer.address;
  if (!settings.trustedProxies.check(peer.address, peer.family)) return client;
  const header = request.headers["x-forwarded-for"];
  const chain = (Array.isArray(header) ? header.join(",") : (header ?? ""))
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  for (const entry of chain.reverse()) {
    const hop = ipOf(entry);
    if (hop === null) break;
    client = hop.address;
    if (!settings.trustedProxies.check(hop.address, hop.family)) break;
  }
  return client;
}

/**
 * Rack's reading of `X-Forwarded-Proto`, `X-Forwarded-Host` and `X-Forwarded-Port` (the last
 * value of each list: the one the nearest proxy added), only when the connection comes from a
 * trusted proxy and the headers are well formed; otherwise null.
 */
function fromTrustedProxy(request: FastifyRequest, trusted: BlockList): URL | null {
  const peer = peerAddress(request);
  if (peer === null || !trusted.check(peer.address, peer.family)) return null;
  const proto = lastValue(request.headers["x-forwarded-proto"])?.toLowerCase();
  const forwardedHost = lastValue(request.headers["x-forwarded-host"]);
  const forwardedPort = lastValue(request.headers["x-forwarded-port"]);
  if (proto === undefined && forwardedHost === undefined && forwardedPort === undefined) return null;
  const scheme = proto ?? request.protocol;
  if (scheme !== "http" && scheme !== "https") return null;
  const host = validHost(forwardedHost ?? request.host);
  if (host === null) return null;
  try {
    const url = new URL(`${scheme}://${host}`);
    if (forwardedPort !== undefined) {
      if (!/^\d{1,5}$/.test(forwardedPort) || Number(forwardedPort) > 65_535) return null;
      url.port = forwardedPort;
    }
    return url;
  } catch {
    return null;
  }
}

function lastValue(header: string | string[] | undefined): string | undefined {
  const joined = Array.isArray(header) ? header.join(",") : header;
  const values = (joined ?? "")
    .split(",")
    .map((value) => value.trim())
    .filter((value) => value !== "");
  return values.at(-1);
}

function peerAddress(request: FastifyRequest): { address: string; family: "ipv4" | "ipv6" } | null {
  const raw = request.socket.remoteAddress;
  return raw ? ipOf(raw) : null;
}

/** An address as `BlockList` checks it (an IPv4-mapped IPv6 address as IPv4), or null. */
function ipOf(raw: string): { address: string; family: "ipv4" | "ipv6" } | null {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(raw);
  if (mapped?.[1]) return { address: mapped[1], family: "ipv4" };
  const family = isIP(raw);
  if (family === 0) return null;
  return { address: raw, family: family === 6 ? "ipv6" : "ipv4" };
}

function validHost(host: string | undefined): string | null {
  const match = host === undefined ? null : HOST_HEADER.exec(host);
  if (!match) return null;
  const port = match[1];
  return port === undefined || Number(port) <= 65_535 ? (host ?? null) : null;
}

function localHost(request: FastifyRequest): string {
  const { localAddress, localPort } = request.socket;
  if (!localAddress) return "localhost";
  const address = localAddress.includes(":") ? `[${localAddress}]` : localAddress;
  return localPort === undefined ? address : `${address}:${localPort}`;
}
