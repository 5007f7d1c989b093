import type { FastifyRequest } from "fastify";

/** The URL the client called (scheme, `Host` and raw path with query), for pagination links. */
export function requestUrl(request: FastifyRequest): URL {
  return new URL(request.url, `${request.protocol}://${request.host}`);
}
