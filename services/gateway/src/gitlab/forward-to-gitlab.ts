import { type ClientRequest, request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { GatewayContext } from "../context.ts";
import { externalBaseUrl } from "../http/request-url.ts";
import { headersFromGitLab, headersToGitLab } from "./forwarded-headers.ts";
import type { GitLabUpstream } from "./gitlab-upstream.ts";

/** A request on its way to GitLab, and GitLab's answer head once it arrives. */
export type GitLabExchange = { outgoing: ClientRequest; answer: Promise<IncomingMessage> };

/** What a client gets when GitLab could not answer a forwarded request (before any byte of it). */
export type ForwardFailure = {
  status: 502 | 503;
  headers: Record<string, string>;
  body: { message: string };
};

/** Seconds a client is asked to wait before retrying after GitLab was unreachable. */
const RETRY_AFTER_SECONDS = 5;

/**
 * Sends the client's request to GitLab: same method, path and query (the raw request target,
 * byte for byte as the client sent it, under GitLab's root URL), headers as `headersToGitLab` makes
 * them. GitLab must start answering within `upstream.timeoutMs`; after that the answer streams
 * as long as it takes. The caller writes the body (or ends the request).
 */
export function openGitLabExchange(
  upstream: GitLabUpstream,
  raw: IncomingMessage,
  options: { identity?: boolean } = {},
): GitLabExchange {
  const root = upstream.url.pathname.replace(/\/+$/, "");
  const send = upstream.url.protocol === "https:" ? httpsRequest : httpRequest;
  // The path as the client wrote it, never re-parsed (a URL parser would resolve `..`): GitLab
  // sees the path Kasmap routed (GitLab mode refuses the ones it could read otherwise).
  const outgoing = send({
    protocol: upstream.url.protocol,
    hostname: upstream.url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: upstream.url.port === "" ? undefined : Number(upstream.url.port),
    path: `${root}${raw.url ?? "/"}`,
    method: raw.method ?? "GET",
    headers: headersToGitLab(raw.headers, upstream.url.host, {
      ...options,
      clientAddress: raw.socket.remoteAddress,
    }),
    agent: upstream.agent,
  });
  outgoing.setTimeout(upstream.timeoutMs, () => {
    outgoing.destroy(Object.assign(new Error("GitLab did not answer in time"), { code: "ETIMEDOUT" }));
  });
  const answer = new Promise<IncomingMessage>((resolve, reject) => {
    outgoing.once("response", (incoming) => {
      // Answering started: a slow download is not a dead GitLab.
      outgoing.setTimeout(0);
      resolve(incoming);
    });
    outgoing.once("error", reject);
  });
  return { outgoing, answer };
}

/** Kasmap's root URL for rewritten links, as the gateway writes its own (`externalBaseUrl`). */
export function kasmapBaseUrl(upstream: GitLabUpstream, request: FastifyRequest): URL {
  return externalBaseUrl(request, upstream.externalUrl);
}

/** Whether the client sends a body (RFC 9112 §6.3: a length or a transfer coding announces it). */
export function hasBody(raw: IncomingMessage): boolean {
  const length = raw.headers["content-length"];
  return raw.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/**
 * Sends a request without a body to GitLab and waits for its answer head. Retried once when a
 * kept-alive connection fails as it is reused (GitLab closed it while idle: Node's
 * `reusedSocket` with `ECONNRESET`), which says nothing about GitLab being down.
 */
export async function askGitLab(
  upstream: GitLabUpstream,
  raw: IncomingMessage,
  options: { identity?: boolean; onOutgoing?: (outgoing: ClientRequest) => void } = {},
): Promise<IncomingMessage> {
  for (let attempt = 1; ; attempt += 1) {
    const { outgoing, answer } = openGitLabExchange(upstream, raw, options);
    options.onOutgoing?.(outgoing);
    outgoing.end();
    try {
      return await answer;
    } catch (error) {
      const reset =
        typeof error === "object" && error !== null && "code" in error && error.code === "ECONNRESET";
      if (attempt === 1 && outgoing.reusedSocket && reset) continue;
      throw error;
    }
  }
}

/**
 * Forwards the request to GitLab unchanged and streams GitLab's answer back (status and headers
 * kept, hop-by-hop headers dropped, `Link` rewritten to Kasmap's URL). Bodies are piped both
 * ways, never held whole. GitLab unreachable → `503` (with `Retry-After`), an answer that is
 * not HTTP → `502`; a failure after the answer began cuts the connection, as a proxy must.
 */
export async function forwardToGitLab(
  ctx: GatewayContext,
  upstream: GitLabUpstream,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  reply.hijack();
  const started = performance.now();
  const response = reply.raw;
  let current: ClientRequest | null = null;
  // A client gone before GitLab finished answering: stop asking GitLab.
  response.once("close", () => {
    if (!response.writableFinished) current?.destroy();
  });
  let incoming: IncomingMessage;
  try {
    if (hasBody(request.raw)) {
      const { outgoing, answer } = openGitLabExchange(upstream, request.raw);
      current = outgoing;
      request.raw.pipe(outgoing);
      incoming = await answer.catch((error: unknown) => {
        request.raw.unpipe(outgoing);
        request.raw.resume();
        throw error;
      });
    } else {
      incoming = await askGitLab(upstream, request.raw, {
        onOutgoing: (outgoing) => {
          current = outgoing;
        },
      });
    }
  } catch (error) {
    const failure = forwardFailure(error);
    request.log.warn({ err: error, status: failure.status }, "forwarding to GitLab failed");
    if (!response.headersSent) {
      response.writeHead(failure.status, { "content-type": "application/json", ...failure.headers });
    }
    response.end(JSON.stringify(failure.body));
    observe(ctx, request, failure.status, started);
    return;
  }
  const status = incoming.statusCode ?? 502;
  response.writeHead(
    status,
    headersFromGitLab(incoming.headers, upstream.url, () => kasmapBaseUrl(upstream, request)),
  );
  incoming.pipe(response);
  incoming.once("aborted", () => response.destroy());
  incoming.once("error", () => response.destroy());
  response.once("finish", () => observe(ctx, request, status, started));
}

/** The answer for a forwarded request GitLab did not answer. */
export function forwardFailure(error: unknown): ForwardFailure {
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
  if (code.startsWith("HPE_")) {
    return {
      status: 502,
      headers: {},
      body: {
        message: "502 Bad Gateway - GitLab's answer was not valid HTTP; Kasmap forwards this path to GitLab",
      },
    };
  }
  const why = code === "" ? "no answer" : code;
  return {
    status: 503,
    headers: { "retry-after": String(RETRY_AFTER_SECONDS) },
    body: {
      message: `503 Service Unavailable - GitLab is unreachable (${why}); Kasmap forwards this path to GitLab`,
    },
  };
}

function observe(ctx: GatewayContext, request: FastifyRequest, status: number, started: number): void {
  ctx.metrics.observe(request.method, "forwarded to GitLab", status, performance.now() - started);
}
