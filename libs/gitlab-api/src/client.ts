import { summarizeZodIssues } from "@kasmap/contracts";
import type { z } from "zod";
import { errorKindForStatus, GitLabApiError } from "./errors.ts";

/** A caller's GitLab credential; the kind decides the header it travels in. */
export interface GitLabCredential {
  kind: "private_token" | "oauth" | "job_token";
  token: string;
}

/** The part of a pino logger the client uses; it never receives a token. */
export interface GitLabClientLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

export type QueryValue = string | number | boolean | undefined | null;
export type Query = Record<string, QueryValue>;

export interface GitLabClientOptions {
  /** GitLab's root URL (`https://gitlab.example.com`); `/api/v4` is added unless already there. */
  baseUrl: string;
  /** The client's own token, sent as `PRIVATE-TOKEN` unless a call passes a credential. */
  token?: string;
  /** Per attempt: connect, headers and body. */
  timeoutMs: number;
  fetch?: typeof fetch;
  logger?: GitLabClientLogger;
  /** The longest `Retry-After` honoured; a longer one fails at once as `rate_limited`. Default 60. */
  maxRetryAfterSeconds?: number;
  /** Retries after a 5xx or network error (GETs only). Default 2. */
  maxRetries?: number;
  /** First backoff delay, doubled each retry. Default 250 ms. */
  retryBaseDelayMs?: number;
  /**
   * Largest answer body read, in bytes, for every call (`raw`'s `maxBytes` may lower it). A
   * `Content-Length` over it, or a body that grows past it, stops the read (the body is
   * cancelled, the connection dropped) and fails as `too_large`, never retried. Default
   * {@link DEFAULT_MAX_BODY_BYTES} (32 MiB): far above any page of 100 entities GitLab sends,
   * and it keeps one answer from taking the process's memory.
   */
  maxBodyBytes?: number;
}

/** The client's default `maxBodyBytes`: 32 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;

export interface RequestOptions {
  query?: Query;
  credential?: GitLabCredential;
  /** Further request headers (GitLab's internal API: `Gitlab-Kas-Api-Request`). */
  headers?: Record<string, string>;
}

export interface RawRequestOptions extends RequestOptions {
  /**
   * Largest body read for this call, in bytes (a repository file Kasmap bounds itself); the
   * client's `maxBodyBytes` when larger or unset. Over it: `too_large`, as for the client's.
   */
  maxBytes?: number;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  body: string;
}

export interface GitLabClient {
  /** GETs `path` (relative to `/api/v4`) and parses the JSON body with `schema`. */
  get<S extends z.ZodType>(path: string, schema: S, options?: RequestOptions): Promise<z.output<S>>;
  /**
   * As `get`, for a path on GitLab's root URL outside `/api/v4` (`/oauth/token/info`): the API
   * root with its `/api/v4` left off, GitLab's relative URL root kept.
   */
  getAtRoot<S extends z.ZodType>(path: string, schema: S, options?: RequestOptions): Promise<z.output<S>>;
  /** A paginated listing, one parsed page at a time (never the whole listing in memory). */
  pages<S extends z.ZodType>(
    path: string,
    schema: S,
    options?: { query?: Query; perPage?: number; credential?: GitLabCredential },
  ): AsyncIterable<Array<z.output<S>>>;
  /**
   * GETs `path` unparsed (e.g. a repository file); null when GitLab answers 404. A body over
   * `options.maxBytes` (or the client's `maxBodyBytes`) fails as `too_large`.
   */
  raw(path: string, options?: RawRequestOptions): Promise<RawResponse | null>;
  /** The API root every path is resolved against (`…/api/v4`). */
  readonly apiUrl: string;
}

/** How many 429 answers in a row one call waits out before failing as `rate_limited`. */
const MAX_RATE_LIMIT_WAITS = 3;

export function createGitLabClient(options: GitLabClientOptions): GitLabClient {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const apiUrl = apiRoot(options.baseUrl);
  const apiOrigin = new URL(apiUrl).origin;
  const maxRetryAfterSeconds = options.maxRetryAfterSeconds ?? 60;
  const maxRetries = options.maxRetries ?? 2;
  const retryBaseDelayMs = options.retryBaseDelayMs ?? 250;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const defaultCredential: GitLabCredential | undefined =
    options.token === undefined ? undefined : { kind: "private_token", token: options.token };

  function urlFor(path: string, query: Query | undefined): URL {
    const url = new URL(apiUrl + (path.startsWith("/") ? path : `/${path}`));
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
    }
    return url;
  }

  /**
   * One GET with rate-limit waits and bounded retries; answers any HTTP status it got. A body
   * over `bodyLimit` bytes fails as `too_large` at once (another attempt would read the same).
   */
  async function send(
    url: URL,
    credential: GitLabCredential | undefined,
    extraHeaders?: Record<string, string>,
    bodyLimit = maxBodyBytes,
  ): Promise<RawResponse> {
    const where = `GET ${url.pathname}`;
    let failures = 0;
    let rateLimitWaits = 0;
    for (;;) {
      let response: Response;
      let body: string;
      try {
        response = await fetchImpl(url, {
          method: "GET",
          headers: {
            accept: "application/json",
            ...extraHeaders,
            ...credentialHeaders(credential ?? defaultCredential),
          },
          signal: AbortSignal.timeout(options.timeoutMs),
          redirect: "manual",
        });
        body = await readBodyBounded(response, bodyLimit, where);
      } catch (error) {
        if (error instanceof GitLabApiError) throw error;
        const reason = isTimeout(error)
          ? `timed out after ${options.timeoutMs} ms`
          : describeNetworkError(error);
        if (failures < maxRetries) {
          failures += 1;
          options.logger?.warn(
            { path: url.pathname, attempt: failures, reason },
            "GitLab unreachable; retrying",
          );
          await sleep(retryBaseDelayMs * 2 ** (failures - 1));
          continue;
        }
        throw new GitLabApiError("unreachable", `${where}: GitLab unreachable (${reason})`, null, {
          cause: error,
        });
      }
      if (response.status === 429) {
        const waitSeconds = retryAfterSeconds(response.headers.get("retry-after"));
        if (rateLimitWaits < MAX_RATE_LIMIT_WAITS && waitSeconds <= maxRetryAfterSeconds) {
          rateLimitWaits += 1;
          options.logger?.warn(
            { path: url.pathname, wait_seconds: waitSeconds },
            "GitLab rate limit; waiting",
          );
          await sleep(waitSeconds * 1000);
          continue;
        }
        throw new GitLabApiError(
          "rate_limited",
          `${where}: GitLab answered 429 (retry after ${waitSeconds} s)`,
          429,
        );
      }
      if (response.status >= 500 && failures < maxRetries) {
        failures += 1;
        options.logger?.warn(
          { path: url.pathname, status: response.status, attempt: failures },
          "GitLab 5xx; retrying",
        );
        await sleep(retryBaseDelayMs * 2 ** (failures - 1));
        continue;
      }
      return { status: response.status, headers: response.headers, body };
    }
  }

  function failIfError(url: URL, answer: RawResponse): void {
    const kind =
      answer.status >= 300 && answer.status < 400 ? "invalid_response" : errorKindForStatus(answer.status);
    if (kind === null) return;
    throw new GitLabApiError(kind, `GET ${url.pathname}: GitLab answered ${answer.status}`, answer.status);
  }

  function parse<S extends z.ZodType>(url: URL, answer: RawResponse, schema: S): z.output<S> {
    let json: unknown;
    try {
      json = JSON.parse(answer.body);
    } catch {
      throw new GitLabApiError("invalid_response", `GET ${url.pathname}: body is not JSON`, answer.status);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issues = summarizeZodIssues(parsed.error, 3);
      throw new GitLabApiError(
        "invalid_response",
        `GET ${url.pathname}: unexpected body (${issues})`,
        answer.status,
      );
    }
    return parsed.data;
  }

  return {
    apiUrl,
    async get(path, schema, requestOptions) {
      const url = urlFor(path, requestOptions?.query);
      const answer = await send(url, requestOptions?.credential, requestOptions?.headers);
      failIfError(url, answer);
      return parse(url, answer, schema);
    },
    async getAtRoot(path, schema, requestOptions) {
      const url = new URL(apiUrl.slice(0, -"/api/v4".length) + (path.startsWith("/") ? path : `/${path}`));
      const answer = await send(url, requestOptions?.credential, requestOptions?.headers);
      failIfError(url, answer);
      return parse(url, answer, schema);
    },
    async raw(path, requestOptions) {
      const url = urlFor(path, requestOptions?.query);
      const limit = Math.min(requestOptions?.maxBytes ?? maxBodyBytes, maxBodyBytes);
      const answer = await send(url, requestOptions?.credential, undefined, limit);
      if (answer.status === 404) return null;
      failIfError(url, answer);
      return answer;
    },
    pages(path, schema, pageOptions) {
      const arraySchema = (schema as z.ZodType).array();
      return {
        async *[Symbol.asyncIterator]() {
          const perPage = pageOptions?.perPage ?? 100;
          let url: URL | null = urlFor(path, { ...pageOptions?.query, per_page: perPage, page: 1 });
          while (url !== null) {
            const answer = await send(url, pageOptions?.credential);
            failIfError(url, answer);
            yield parse(url, answer, arraySchema) as Array<z.output<typeof schema>>;
            url = nextPageUrl(url, answer.headers, apiOrigin);
          }
        },
      };
    },
  };
}

/**
 * The body as text (UTF-8, as `Response.text()` decodes it), read chunk by chunk: a declared
 * `Content-Length` over `limit` bytes is refused before any byte is read, and a body that grows
 * past `limit` stops the read there. Either way the body is cancelled (undici then drops the
 * connection) and the call fails as `too_large`, naming the path and the limit.
 */
async function readBodyBounded(response: Response, limit: number, where: string): Promise<string> {
  const declared = declaredLength(response.headers);
  // Compressed, `Content-Length` counts the bytes on the wire, not the body's.
  const encoding = response.headers.get("content-encoding")?.trim().toLowerCase();
  const bodyBytes = encoding === undefined || encoding === "identity" ? declared : null;
  const tooLarge = (size: number | null) =>
    new GitLabApiError(
      "too_large",
      `${where}: GitLab's answer is over the limit of ${limit} bytes` +
        (declared === null ? "" : ` (Content-Length ${declared})`),
      response.status,
      { bodyBytes: size },
    );
  if (declared !== null && declared > limit) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge(bodyBytes);
  }
  if (response.body === null) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(null);
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks, total));
}

/** `Content-Length` as a number of bytes; null when absent or not a plain count. */
function declaredLength(headers: Headers): number | null {
  const value = headers.get("content-length")?.trim();
  if (value === undefined || !/^[0-9]{1,15}$/.test(value)) return null;
  return Number(value);
}

/** `x-next-page` (offset pagination), else the `Link` header's `rel="next"` (keyset pagination). */
export function nextPageUrl(current: URL, headers: Headers, apiOrigin: string): URL | null {
  const nextPage = headers.get("x-next-page");
  if (nextPage !== null && nextPage.trim() !== "") {
    const url = new URL(current);
    url.searchParams.set("page", nextPage.trim());
    return url;
  }
  const next = linkRelation(headers.get("link"), "next");
  if (next === null) return null;
  const url = new URL(next, current);
  // The credential must only ever travel to the configured GitLab.
  if (url.origin !== apiOrigin) {
    throw new GitLabApiError(
      "invalid_response",
      `GET ${current.pathname}: Link rel="next" points to another origin`,
    );
  }
  return url;
}

/** The URL of one relation in an RFC 8288 `Link` header, or null. */
export function linkRelation(link: string | null, relation: string): string | null {
  if (link === null) return null;
  for (const part of link.split(",")) {
    const match = /<([^>]*)>\s*;(.*)$/.exec(part.trim());
    if (match === null) continue;
    const rels = /rel="?([^";]+)"?/.exec(match[2] ?? "")?.[1]?.split(/\s+/) ?? [];
    if (rels.includes(relation)) return match[1] ?? null;
  }
  return null;
}

/** Seconds to wait for a `Retry-After` header (delta-seconds or HTTP date); 1 when absent. */
export function retryAfterSeconds(header: string | null, now = Date.now()): number {
  if (header === null || header.trim() === "") return 1;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(header);
  return Number.isNaN(date) ? 1 : Math.max(0, Math.ceil((date - now) / 1000));
}

export function credentialHeaders(credential: GitLabCredential | undefined): Record<string, string> {
  if (credential === undefined) return {};
  switch (credential.kind) {
    case "private_token":
      return { "private-token": credential.token };
    case "oauth":
      return { authorization: `Bearer ${credential.token}` };
    case "job_token":
      return { "job-token": credential.token };
  }
}

function apiRoot(baseUrl: string): string {
  const trimmed = baseUrl.replace(/\/+$/, "");
  return trimmed.endsWith("/api/v4") ? trimmed : `${trimmed}/api/v4`;
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
}

/** The network failure's code (ECONNREFUSED, ENOTFOUND …) without anything from the request. */
function describeNetworkError(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  if (cause !== undefined && typeof cause.code === "string") return cause.code;
  return error instanceof Error ? error.name : "network error";
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
