/**
 * What a test sends to the gateway: a `fetch` init plus the token and at most one body.
 * `json` is sent as `application/json`, `form` as `application/x-www-form-urlencoded` (an array
 * value repeats the key as `key[]`, Grape's list form), `text` as `text/plain`; `body` is sent as
 * it is, with whatever `content-type` `headers` names.
 */
export type GatewayRequest = RequestInit & {
  /** The credential; none is sent when absent or null. */
  token?: string | null;
  /** The header that carries `token`: `private-token` (the default) or `job-token`. */
  tokenHeader?: "private-token" | "job-token";
  json?: unknown;
  form?: Record<string, string | readonly string[]>;
  text?: string;
};

/** A REST answer with its body parsed: JSON, or null when the body is empty. */
export type GatewayAnswer = {
  status: number;
  headers: Headers;
  body: Record<string, unknown> | null;
};

/**
 * The one REST client of the gateway for tests and benches (GitLab's API under `/api/v4`).
 * `fetch` answers the raw `Response` of any path (`/-/readiness`, `/metrics`, `/api/v4/…`);
 * `call` prefixes `/api/v4` and parses the JSON body; `ok` is `call` for set-up steps that must
 * succeed: it throws with the status and body unless the answer is 2xx.
 */
export type GatewayClient = {
  /** The gateway's base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  fetch(path: string, request?: GatewayRequest): Promise<Response>;
  call(method: string, path: string, request?: GatewayRequest): Promise<GatewayAnswer>;
  ok(method: string, path: string, request?: GatewayRequest): Promise<Record<string, unknown>>;
};

/** A client of the gateway at `url`; `defaults` (e.g. `{ token: adminToken }`) apply to every request. */
export function gatewayClient(url: string, defaults: GatewayRequest = {}): GatewayClient {
  const send = (path: string, request: GatewayRequest = {}) =>
    fetch(`${url}${path}`, requestInit({ ...defaults, ...request }));
  const call = async (method: string, path: string, request: GatewayRequest = {}) => {
    const response = await send(`/api/v4${path}`, { ...request, method });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : null,
    };
  };
  return {
    url,
    fetch: send,
    call,
    async ok(method, path, request) {
      const answer = await call(method, path, request);
      if (answer.status < 200 || answer.status >= 300) {
        throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
      }
      return answer.body ?? {};
    },
  };
}

function requestInit(request: GatewayRequest): RequestInit {
  const { token, tokenHeader = "private-token", json, form, text, ...init } = request;
  const headers = new Headers(init.headers);
  if (token) headers.set(tokenHeader, token);
  if (json !== undefined) {
    headers.set("content-type", "application/json");
    init.body = JSON.stringify(json);
  } else if (form !== undefined) {
    headers.set("content-type", "application/x-www-form-urlencoded");
    init.body = formBody(form);
  } else if (text !== undefined) {
    headers.set("content-type", "text/plain");
    init.body = text;
  }
  return { ...init, headers };
}

function formBody(form: Record<string, string | readonly string[]>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(form)) {
    if (typeof value === "string") params.append(key, value);
    else for (const item of value) params.append(`${key}[]`, item);
  }
  return params.toString();
}
