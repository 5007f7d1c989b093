import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { kasmapUrlFor, rewriteLinkHeader } from "./link-header.ts";

/**
 * Headers that describe one connection, not the message (RFC 9110 §7.6.1), and are never
 * forwarded; so are the headers the `Connection` header names.
 */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
]);

function isHopByHop(name: string, named: ReadonlySet<string>): boolean {
  return HOP_BY_HOP.has(name) || name.startsWith("proxy-") || named.has(name);
}

/** The header names a `Connection: close, x-foo` header lists. */
function connectionNamed(headers: IncomingHttpHeaders): ReadonlySet<string> {
  const value = headers.connection;
  const text = Array.isArray(value) ? value.join(",") : (value ?? "");
  return new Set(
    text
      .split(",")
      .map((name) => name.trim().toLowerCase())
      .filter((name) => name.length > 0),
  );
}

/**
 * The client's headers as GitLab gets them: all of them (credentials included: GitLab decides),
 * without hop-by-hop headers, `Host` set to GitLab's, and the client's address appended to
 * `X-Forwarded-For` as any proxy does (GitLab believes it only where Kasmap is one of its
 * `trusted_proxies`, and then reads it from the right, so a client cannot forge its own entry).
 * `identity` asks GitLab for an unencoded body (`accept-encoding` dropped), for an answer Kasmap
 * must read.
 */
export function headersToGitLab(
  headers: IncomingHttpHeaders,
  gitlabHost: string,
  options: { identity?: boolean; clientAddress?: string } = {},
): OutgoingHttpHeaders {
  const named = connectionNamed(headers);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name === "host" || isHopByHop(name, named)) continue;
    if (options.identity && name === "accept-encoding") continue;
    out[name] = value;
  }
  out.host = gitlabHost;
  if (options.clientAddress !== undefined) {
    const earlier = headers["x-forwarded-for"];
    const chain = Array.isArray(earlier) ? earlier.join(", ") : earlier;
    out["x-forwarded-for"] = chain ? `${chain}, ${options.clientAddress}` : options.clientAddress;
  }
  return out;
}

/**
 * GitLab's answer headers as the client gets them: all of them without hop-by-hop headers, with
 * every GitLab API URL in `Link` rewritten to Kasmap's (`rewriteLinkHeader`), and so is a
 * `Location` that points into GitLab's API (a redirect or a created resource), so that the client
 * stays on Kasmap; `drop` removes more (e.g. `content-length` of a body Kasmap re-serialized).
 * `kasmap` may be a function: it is then called only for an answer with such a header (working
 * out Kasmap's URL from a request's forwarding headers costs more than the rest of this).
 */
export function headersFromGitLab(
  headers: IncomingHttpHeaders,
  gitlab: URL,
  kasmapUrl: URL | (() => URL),
  drop: readonly string[] = [],
): OutgoingHttpHeaders {
  let kasmap: URL | null = typeof kasmapUrl === "function" ? null : kasmapUrl;
  const kasmapOnce = () => {
    kasmap ??= (kasmapUrl as () => URL)();
    return kasmap;
  };
  const named = connectionNamed(headers);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || isHopByHop(name, named) || drop.includes(name)) continue;
    if (name === "link") {
      out[name] = Array.isArray(value)
        ? value.map((link) => rewriteLinkHeader(link, gitlab, kasmapOnce()))
        : rewriteLinkHeader(value, gitlab, kasmapOnce());
    } else if (name === "location" && typeof value === "string") {
      out[name] = kasmapUrlFor(value, gitlab, kasmapOnce()) ?? value;
    } else {
      out[name] = value;
    }
  }
  return out;
}
