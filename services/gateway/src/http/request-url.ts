import type { FastifyRequest } from "fastify";

/** `name[:port]` or `[ipv6][:port]`: what RFC 9110 allows in `Host`, nothing that could add a path or userinfo. */
const HOST_HEADER = /^(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/;

/**
 * The URL the client called (scheme, `Host` and raw path with query), for pagination links.
 * A `Host` that is not a plain host and port (empty, `a b`, `x:99999999999`, `[::1`) cannot
 * be trusted into a link: the address the connection arrived on is used instead.
 */
export function requestUrl(request: FastifyRequest): URL {
  const host = validHost(request.host) ?? localHost(request);
  try {
    return new URL(request.url, `${request.protocol}://${host}`);
  } catch {
    return new URL(request.url, `${request.protocol}://${localHost(request)}`);
  }
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
