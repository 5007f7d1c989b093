import { KasmapError } from "@kasmap/contracts";
import type { FastifyRequest } from "fastify";

/**
 * The first place in a request's decoded path parameters, query or body (keys and values, at
 * any depth, or a raw text body) that holds a NUL character or a lone UTF-16 surrogate; null when
 * there is none. Neither can be stored in PostgreSQL (`text` refuses U+0000, `jsonb` refuses
 * `\u0000` and unpaired `\ud800` escapes), so letting one through turns a bad request into a
 * database error, i.e. a 500.
 */
export function malformedStringIn(request: Pick<FastifyRequest, "params" | "query" | "body">): string | null {
  const roots: Array<[string, unknown]> = [
    ["path", request.params],
    ["query", request.query],
    ["body", request.body],
  ];
  for (const [where, root] of roots) if (holdsMalformedString(root)) return where;
  return null;
}

/** Walks with an explicit stack, so a deeply nested JSON body cannot overflow the call stack. */
function holdsMalformedString(root: unknown): boolean {
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === "string") {
      if (isMalformed(value)) return true;
    } else if (Array.isArray(value)) {
      // One push per element: spreading a million-element array would overflow the stack.
      for (const item of value) pending.push(item);
    } else if (typeof value === "object" && value !== null) {
      for (const [key, inner] of Object.entries(value)) {
        if (isMalformed(key)) return true;
        pending.push(inner);
      }
    }
  }
  return false;
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function isMalformed(text: string): boolean {
  return text.includes("\u0000") || LONE_SURROGATE.test(text);
}

/**
 * `preValidation` hook (after body parsing, before any handler; callback form, no promise per request): answers `400 Bad request` to a
 * request with a malformed string anywhere, before authentication, as GitLab's
 * `Gitlab::Middleware::HandleMalformedStrings` does for NUL bytes and invalid encodings.
 */
export function rejectMalformedStrings(
  request: FastifyRequest,
  _reply: unknown,
  done: (error?: KasmapError) => void,
): void {
  const where = malformedStringIn(request);
  if (where === null) done();
  else done(new KasmapError("bad_request", `${where} holds a NUL byte or an unpaired UTF-16 surrogate`));
}
