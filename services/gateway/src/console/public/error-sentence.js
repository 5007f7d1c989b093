/**
 * An API answer that went wrong, as a sentence a person understands (never raw JSON). The
 * gateway answers GitLab's bodies (`{"message": "404 Project Not Found"}`, Grape's
 * `{"error": "ip is invalid"}`); the status decides the sentence, the body adds its detail.
 * Pure: shared by every page and the unit tests.
 */

/**
 * @param {number} status HTTP status; 0 when the gateway could not be reached at all.
 * @param {unknown} body the parsed JSON body, or null.
 * @param {string} what what the page was doing, e.g. "load the agent".
 */
export function sentenceForApiError(status, body, what) {
  const detail = detailOf(body);
  switch (true) {
    case status === 0:
      return `Could not ${what}: the Kasmap gateway did not answer. Check your network and try again.`;
    case status === 401:
      return `Could not ${what}: your token was not accepted (unknown, expired or revoked). Sign in again with a valid token.`;
    case status === 403:
      return `Could not ${what}: your token may not do this${detail ? ` (${detail})` : ""}. Ask a maintainer or an administrator for access.`;
    case status === 404:
      return `Could not ${what}: it does not exist, or you do not have access to it.`;
    case status === 400:
      return `Could not ${what}: the request was not accepted${detail ? ` — ${detail}` : ""}.`;
    case status === 429:
      return `Could not ${what}: too many requests at once. Wait a moment and try again.`;
    case status === 503:
      return `Could not ${what}: Kasmap or one of its dependencies is unavailable right now. Try again in a few seconds.`;
    case status >= 500:
      return `Could not ${what}: the server failed (${status}). Try again; if it keeps failing, tell your Kasmap operator.`;
    default:
      return `Could not ${what}: the server answered ${status}${detail ? ` (${detail})` : ""}.`;
  }
}

/**
 * The human part of a GitLab error body: `error`, or `message` without its leading status
 * (`"404 Project Not Found"` → `"Project Not Found"`); model errors (`{"message": {"path": [...]}}`)
 * as `path has already been taken`.
 * @param {unknown} body
 */
export function detailOf(body) {
  if (typeof body !== "object" || body === null) return "";
  const record = /** @type {Record<string, unknown>} */ (body);
  if (typeof record.error === "string") return record.error;
  const message = record.message;
  if (typeof message === "string") return message.replace(/^\d{3}\s*/, "");
  if (typeof message === "object" && message !== null) {
    return Object.entries(message)
      .map(
        ([field, problems]) => `${field} ${Array.isArray(problems) ? problems.join(", ") : String(problems)}`,
      )
      .join("; ");
  }
  return "";
}
