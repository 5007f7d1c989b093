import { STATUS_CODES } from "node:http";
import { isKasmapError } from "@kasmap/contracts";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { CredentialRefusedError } from "../auth/credential-errors.ts";
import { InvalidParamsError } from "./request-params.ts";

/**
 * Maps every error to GitLab's bodies: `InvalidParamsError` → `400 {"error": "..."}` (Grape),
 * `KasmapError` → its status and `toGitLabBody()`, Fastify's own client errors (bad JSON,
 * unsupported media type, body too large) → `{"message": "<status> <reason>"}`, anything else →
 * `500 {"message":"500 Internal Server Error"}`, logged with the cause and never echoed.
 */
export function gitLabErrorHandler(
  error: FastifyError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  if (error instanceof InvalidParamsError) return reply.code(400).send({ error: error.message });
  if (error instanceof CredentialRefusedError) {
    return reply.code(error.httpStatus).headers(error.headers).send(error.body);
  }
  if (isKasmapError(error)) {
    if (error.httpStatus >= 500) request.log.error({ err: error }, "request failed");
    return reply.code(error.httpStatus).send(error.toGitLabBody());
  }
  const status = "statusCode" in error && typeof error.statusCode === "number" ? error.statusCode : 500;
  if (status >= 400 && status < 500) {
    const reason = status === 400 ? "Bad request" : (STATUS_CODES[status] ?? "Error");
    return reply.code(status).send({ message: `${status} ${reason}` });
  }
  request.log.error({ err: error }, "unexpected error");
  return reply.code(500).send({ message: "500 Internal Server Error" });
}
