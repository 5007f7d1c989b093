/**
 * What a failed read of a cluster source means, from the error @kubernetes/client-node throws.
 * - `forbidden` (403) and `not-found` (404, or a kind the API group does not serve) are the
 *   server's settled answers.
 * - `gone` (410): the watch history was compacted; relist.
 * - `unreachable`: no HTTP answer at all (connection refused or reset, DNS, timeout, TLS).
 * - `error`: the server answered, but with a status or body the collector cannot use.
 */
export type SourceFailure =
  | { kind: "forbidden"; message: string }
  | { kind: "not-found" }
  | { kind: "gone" }
  | { kind: "unreachable"; message: string }
  | { kind: "error"; message: string };

type ClientError = {
  code?: unknown;
  statusCode?: unknown;
  type?: unknown;
  errno?: unknown;
  syscall?: unknown;
  body?: unknown;
  message?: unknown;
  cause?: unknown;
};

/** Longest error text kept: a body quoted whole could be a megabyte of HTML. */
const MAX_MESSAGE_CHARS = 300;

function truncate(text: string): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length > MAX_MESSAGE_CHARS ? `${oneLine.slice(0, MAX_MESSAGE_CHARS)}…` : oneLine;
}

function httpStatus(e: ClientError): number | null {
  for (const value of [e.code, e.statusCode]) {
    if (typeof value === "number" && value >= 100 && value <= 599) return value;
  }
  return null;
}

function statusMessage(value: unknown): string | null {
  const message = (value as { message?: unknown } | null)?.message;
  return typeof message === "string" ? message : null;
}

/**
 * The Status `message` of a Kubernetes error body (client-node passes it parsed or as JSON
 * text), else the body as text.
 */
function bodyText(body: unknown): string {
  if (body === undefined || body === null || body === "") return "";
  if (typeof body !== "string") return statusMessage(body) ?? JSON.stringify(body);
  try {
    return statusMessage(JSON.parse(body)) ?? body;
  } catch {
    return body;
  }
}

/** node-fetch's FetchError of type `system`, or a Node socket/TLS error (string `code`). */
function isTransportError(e: ClientError): boolean {
  if (e.type === "system" || e.syscall !== undefined || e.errno !== undefined) return true;
  if (typeof e.code === "string") return true;
  const cause = e.cause as ClientError | undefined;
  return cause !== undefined && cause !== null && typeof cause === "object" && isTransportError(cause);
}

export function classifySourceFailure(error: unknown): SourceFailure {
  const e = (error ?? {}) as ClientError;
  const message = typeof e.message === "string" ? e.message : String(error);
  const status = httpStatus(e);
  if (status === 403) return { kind: "forbidden", message: truncate(bodyText(e.body) || message) };
  if (status === 404) return { kind: "not-found" };
  if (status === 410) return { kind: "gone" };
  if (status !== null) {
    const text = bodyText(e.body);
    return { kind: "error", message: truncate(`HTTP ${status}${text ? `: ${text}` : ""}`) };
  }
  // The group answers discovery but does not serve this kind: the API does not exist here.
  if (/Unrecognized API version and kind/.test(message)) return { kind: "not-found" };
  if (isTransportError(e)) return { kind: "unreachable", message: truncate(message) };
  return { kind: "error", message: truncate(message) };
}
