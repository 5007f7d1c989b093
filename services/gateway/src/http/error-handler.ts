import { STATUS_CODES } from "node:http";
import { type ErrorCode, isKasmapError, KasmapError } from "@kasmap/contracts";
import { isDatabaseUnavailable } from "@kasmap/db";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { RETRY_AFTER_SECONDS } from "./gateway-limits.ts";

/**
 * Maps every error to GitLab's bodies; routes throw and never write an error body themselves.
 * `KasmapError` → the status of its code, `toGitLabBody()` and `gitLabHeaders()` (Grape's
 * `400 {"error": "..."}` for `invalid_params`, Rack::OAuth2's bearer errors for credentials), with `Retry-After` for the codes in `RETRY_LATER` (a `429` over a
 * per-user limit, a `503` outage), Fastify's own client errors (bad JSON,
 * unsupported media type) → `{"message": "<status> <reason>"}`, a body over the limit →
 * `413 {"message": "413 Request Entity Too Large - the request body is over N bytes"}`, an
 * outage of PostgreSQL or NATS → `503 {"message":"503 Service Unavailable"}` with `Retry-After`,
 * anything else → `500 {"message":"500 Internal Server Error"}`, logged with the cause and never
 * echoed.
 */
/** The codes whose answer tells the client when to try again (`Retry-After`, seconds). */
const RETRY_LATER: ReadonlySet<ErrorCode> = new Set([
  "unavailable",
  "unavailable_because",
  "too_many_requests",
]);

export function gitLabErrorHandler(
  error: FastifyError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const known = isDatabaseUnavailable(error)
    ? new KasmapError("unavailable", "the database is unavailable", { cause: error })
    : error;
  if (isKasmapError(known)) {
    // An outage is expected now and then: one warning line, not a stack per request.
    if (known.code === "unavailable" || known.code === "unavailable_because")
      request.log.warn({ err: error }, "dependency unavailable");
    else if (known.httpStatus >= 500) request.log.error({ err: error }, "request failed");
    if (RETRY_LATER.has(known.code)) reply.header("retry-after", String(RETRY_AFTER_SECONDS));
    return reply.code(known.httpStatus).headers(known.gitLabHeaders()).send(known.toGitLabBody());
  }
  if ("code" in error && error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    const limit = request.routeOptions.bodyLimit;
    return reply
      .code(413)
      .send({ message: `413 Request Entity Too Large - the request body is over ${limit} bytes` });
  }
  const status = "statusCode" in error && typeof error.statusCode === "number" ? error.statusCode : 500;
  if (status >= 400 && status < 500) {
    const reason = status === 400 ? "Bad request" : (STATUS_CODES[status] ?? "Error");
    return reply.code(status).send({ message: `${status} ${reason}` });
  }
  request.log.error({ err: error }, "unexpected error");
  return reply.code(500).send({ message: "500 Internal Server Error" });
}
