import { sentenceForApiError } from "./error-sentence.js";

/** An API call that failed, with the sentence to show (`message`) and the HTTP status (0: no answer). */
export class ApiError extends Error {
  /** @param {number} status @param {string} sentence */
  constructor(status, sentence) {
    super(sentence);
    this.status = status;
  }
}

/**
 * One call to the gateway's public REST API as the signed-in user (`PRIVATE-TOKEN` header; the
 * token never goes into a URL). Answers the parsed body and the response headers, or throws an
 * `ApiError` whose message is a sentence for people; `what` names the action for that sentence.
 * @param {string} token
 * @param {string} method
 * @param {string} path e.g. "/api/v4/user"
 * @param {string} what e.g. "load the agent"
 * @param {unknown} [body]
 * @returns {Promise<{ body: any, headers: Headers }>}
 */
export async function apiCall(token, method, path, what, body) {
  /** @type {Record<string, string>} */
  const headers = { "private-token": token, accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch {
    throw new ApiError(0, sentenceForApiError(0, null, what));
  }
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text === "" ? null : JSON.parse(text);
  } catch {
    parsed = null;
  }
  if (!response.ok) throw new ApiError(response.status, sentenceForApiError(response.status, parsed, what));
  return { body: parsed, headers: response.headers };
}

/** `projects/:id` path segment for an id or a full path. @param {number | string} id */
export function projectSegment(id) {
  return encodeURIComponent(String(id));
}

/**
 * Every item of a paginated list route (GitLab's `x-next-page` header), page after page, at most
 * `maxPages` pages; `complete` is false when more pages were left unread.
 * @param {string} token
 * @param {string} path a list path with its query, without `page`/`per_page`
 * @param {string} what
 * @param {number} [maxPages]
 * @returns {Promise<{ items: any[], complete: boolean }>}
 */
export async function allPages(token, path, what, maxPages = 50) {
  const items = [];
  const separator = path.includes("?") ? "&" : "?";
  for (let page = 1; page <= maxPages; page++) {
    const { body, headers } = await apiCall(
      token,
      "GET",
      `${path}${separator}per_page=100&page=${page}`,
      what,
    );
    items.push(...(Array.isArray(body) ? body : []));
    if (!headers.get("x-next-page")) return { items, complete: true };
  }
  return { items, complete: false };
}
