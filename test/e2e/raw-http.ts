import { connect } from "node:net";

/**
 * One HTTP/1.1 request written byte for byte on a fresh socket. `fetch` and `http.request`
 * refuse what a hostile peer can send (no `Host`, two `Host` headers, NUL or lone surrogates in
 * the target, raw bytes in header values), and those are exactly the inputs the fuzz test needs.
 */
export type RawRequest = {
  method: string;
  /** The request target as sent, e.g. `/api/v4/projects/1?x=y`; not encoded here. */
  target: string;
  /** Sent in order; a name may repeat. `host` is not added unless listed. */
  headers: ReadonlyArray<readonly [string, string]>;
  body?: Buffer;
};

export type RawResponse = { status: number; headers: Record<string, string>; body: string };

/** How long one request may take before the call fails (the gateway hung). */
const REQUEST_TIMEOUT_MS = 15_000;

/**
 * Sends `request` to `baseUrl`'s host and port with `Connection: close` and reads the answer.
 * A Server-Sent Events answer resolves as soon as its head arrives (the stream never ends).
 * Rejects when the server closes without a status line or the timeout passes.
 */
export function sendRaw(baseUrl: string, request: RawRequest): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const head = [
    `${request.method} ${request.target} HTTP/1.1`,
    ...request.headers.map(([name, value]) => `${name}: ${value}`),
    ...(request.body === undefined ? [] : [`content-length: ${request.body.length}`]),
    "connection: close",
    "",
    "",
  ].join("\r\n");
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (error: Error | null, response?: RawResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else if (response) resolve(response);
    };
    const timer = setTimeout(
      () =>
        finish(
          new Error(
            `no answer within ${REQUEST_TIMEOUT_MS} ms: ${request.method} ${request.target.slice(0, 120)}`,
          ),
        ),
      REQUEST_TIMEOUT_MS,
    );
    socket.on("connect", () => {
      // latin1 keeps every code unit below 256 as one byte, so the target goes out as written.
      socket.write(Buffer.from(head, "latin1"));
      if (request.body !== undefined) socket.write(request.body);
    });
    socket.on("data", (chunk) => {
      chunks.push(chunk);
      const parsed = parseHead(Buffer.concat(chunks));
      if (parsed?.headers["content-type"]?.startsWith("text/event-stream"))
        finish(null, { ...parsed, body: "" });
    });
    socket.on("error", (error) => finish(error));
    socket.on("end", () => {
      const all = Buffer.concat(chunks);
      const parsed = parseHead(all);
      if (!parsed)
        return finish(new Error(`connection closed without an answer: ${request.target.slice(0, 120)}`));
      const rawBody = all.subarray(parsed.bodyStart);
      const body = parsed.headers["transfer-encoding"] === "chunked" ? dechunk(rawBody) : rawBody;
      finish(null, { status: parsed.status, headers: parsed.headers, body: body.toString("utf8") });
    });
  });
}

function parseHead(
  data: Buffer,
): { status: number; headers: Record<string, string>; bodyStart: number } | null {
  const end = data.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const [statusLine = "", ...lines] = data.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  if (!Number.isInteger(status)) return null;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status, headers, bodyStart: end + 4 };
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    const lineEnd = data.indexOf("\r\n", at);
    if (lineEnd < 0) break;
    const size = Number.parseInt(data.subarray(at, lineEnd).toString("latin1"), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
