import type { RestRoute } from "@kasmap/contracts";
import fc from "fast-check";
import { z } from "zod";
import { WORLD_ROLES, type World } from "./principal-world.ts";
import type { RawRequest } from "./raw-http.ts";

/**
 * fast-check arbitraries for requests built from the route table: for any `RestRoute`, path
 * parameters (mostly ids of resources that exist, else missing, hostile or huge ones), a query
 * from the route's query schema, headers (mostly a valid token of some role; odd `Host` values)
 * and a body from the route's body schema, valid-ish most of the time, garbage otherwise.
 */
export type FuzzRequest = RawRequest & { route: RestRoute; credential: string };

/**
 * Resources the fuzzer may destroy: blocking a user, revoking a token or finishing a job with the
 * world's own ids would turn the rest of the run into 401s, so those routes get these ids.
 */
export type Expendable = {
  userId: number;
  tokenIds: number[];
  jobId: number;
  /** Credentials refused past lookup (item 7): a `read_api` token and a revoked one. */
  otherTokens: { readApi: string; revoked: string };
  /**
   * The credential `DELETE /personal_access_tokens/self` is sent with, which revokes the token
   * it comes with: a spare user's (revoked by the first such request, refused after).
   */
  selfRevoking: string;
};

/** Percent-encodes the UTF-8 bytes of `text` except unreserved characters (a lone surrogate becomes U+FFFD). */
function encodeBytes(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

const BIG_NUMBERS = [
  "2147483648",
  "4294967296",
  "99999999999",
  "9007199254740991",
  "9007199254740993",
  "9223372036854775808",
  "99999999999999999999999999",
] as const;

/** Path segments or query values a hostile client sends, already in their on-the-wire form. */
const hostileSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    ...BIG_NUMBERS,
    "0",
    "-1",
    "1.5",
    "0x1F",
    "1e3",
    "%20",
    "%00",
    "a%00b",
    "%ED%A0%80",
    "%ED%B0%80",
    "%uD800",
    "%C0%80",
    "%FF",
    "%",
    "%2",
    "%2e%2e",
    "..",
    "%2F",
    "world%2F..%2Fhidden",
    "hidden%2Fsecret",
  ),
  fc.integer({ min: 100, max: 3000 }).map((n) => "a".repeat(n)),
  fc.integer({ min: 10, max: 750 }).map((n) => "a%2F".repeat(n)),
  fc.string({ unit: "binary", maxLength: 40 }).map(encodeBytes),
  fc.integer({ min: 1000, max: 2_000_000_000 }).map(String),
);

function validPathValues(world: World, spare: Expendable, path: string, name: string): string[] {
  if (name === "job_id") return [String(spare.jobId)];
  if (path.startsWith("/api/v4/personal_access_tokens/")) return spare.tokenIds.map(String);
  if (path.startsWith("/api/v4/users/:id/personal_access_tokens"))
    return Object.values(world.userIds).map(String);
  if (path.startsWith("/api/v4/users/")) return [String(spare.userId)];
  if (name === "agent_id")
    return [String(world.agent.id), String(world.agent.id), String(world.hiddenAgent.id)];
  if (name === "token_id") return [String(world.agentToken.id)];
  if (path.startsWith("/api/v4/groups/")) {
    return [String(world.group.id), encodeURIComponent(world.group.full_path), String(world.hiddenGroup.id)];
  }
  return [
    String(world.project.id),
    String(world.project.id),
    encodeURIComponent(world.project.path_with_namespace),
    String(world.hiddenProject.id),
  ];
}

function pathArbitrary(world: World, spare: Expendable, route: RestRoute): fc.Arbitrary<string> {
  const names = [...route.path.matchAll(/:([a-z_]+)/g)].map((m) => m[1] ?? "");
  const values = names.map((name) =>
    fc.oneof(
      { weight: 9, arbitrary: fc.constantFrom(...validPathValues(world, spare, route.path, name)) },
      { weight: 1, arbitrary: hostileSegment },
    ),
  );
  return fc.tuple(...values).map((chosen) => {
    let path = route.path;
    names.forEach((name, i) => {
      path = path.replace(`:${name}`, chosen[i] ?? "");
    });
    return path;
  });
}

const plausibleScalar: fc.Arbitrary<string> = fc.constantFrom(
  "true",
  "false",
  "1",
  "0",
  "",
  "csv",
  "json",
  "10.0.0.1",
  "52.1.2.3",
  "10.0.0.0/8",
  "fd00::/8",
  "::1",
  "2026-01-01T00:00:00Z",
  "1970-01-01T00:00:00Z",
  "0000-01-01T00:00:00Z",
  "9999-12-31T23:59:59-23:59",
  "0000-00-00",
  "0.0.0.0/0",
  "::/0",
  "10.0.0.0/33",
  "::ffff:10.0.0.1",
  "fe80::1%eth0",
  "staging",
  "review/*",
  "cluster_agent_created",
  "Project",
  "100",
  "101",
  "20",
);

function keysOf(schema: z.ZodType | undefined): string[] {
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function queryArbitrary(world: World, route: RestRoute): fc.Arbitrary<string> {
  const keys = [...keysOf(route.query), ...(route.paginated ? ["page", "per_page"] : [])];
  const key = fc.oneof(
    { weight: 6, arbitrary: keys.length > 0 ? fc.constantFrom(...keys) : fc.constant("page") },
    { weight: 1, arbitrary: fc.string({ maxLength: 12 }).map(encodeBytes) },
  );
  const value = fc.oneof(
    { weight: 5, arbitrary: plausibleScalar.map(encodeBytes) },
    { weight: 1, arbitrary: fc.constantFrom(String(world.agent.id), String(world.project.id)) },
    { weight: 2, arbitrary: hostileSegment },
  );
  return fc
    .array(fc.tuple(key, value), { maxLength: 4 })
    .map((pairs) => (pairs.length === 0 ? "" : `?${pairs.map(([k, v]) => `${k}=${v}`).join("&")}`));
}

function credentialArbitrary(
  world: World,
  spare: Expendable,
): fc.Arbitrary<{ label: string; headers: Array<[string, string]> }> {
  const role = fc.constantFrom(...WORLD_ROLES);
  return fc.oneof(
    {
      weight: 1,
      arbitrary: fc.constant({ label: "read_api", headers: [["private-token", spare.otherTokens.readApi]] }),
    },
    {
      weight: 1,
      arbitrary: fc.constant({ label: "revoked", headers: [["private-token", spare.otherTokens.revoked]] }),
    },
    {
      weight: 20,
      arbitrary: role.map((r) => ({ label: r, headers: [["private-token", world.tokens[r]]] })),
    },
    {
      weight: 2,
      arbitrary: role.map((r) => ({ label: r, headers: [["authorization", `Bearer ${world.tokens[r]}`]] })),
    },
    { weight: 2, arbitrary: fc.constant({ label: "job", headers: [["job-token", world.jobToken]] }) },
    { weight: 1, arbitrary: fc.constant({ label: "none", headers: [] }) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom("private-token", "job-token", "authorization")
        .chain((name) =>
          fc
            .string({ unit: "grapheme-ascii", maxLength: 80 })
            .map((value) => ({ label: "bad", headers: [[name, `glpat-${value.replace(/[\r\n]/g, "")}`]] })),
        ),
    },
  ) as fc.Arbitrary<{ label: string; headers: Array<[string, string]> }>;
}

const hostHeaders: fc.Arbitrary<Array<[string, string]>> = fc.oneof(
  { weight: 10, arbitrary: fc.constant([["host", "kasmap.test"]]) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(
        "",
        "[::1",
        "[::1]:8080",
        "a b",
        "x:99999999999",
        "%00",
        "\u00e9",
        "a/b",
        "u@h",
        "x".repeat(3000),
      )
      .map((host) => [["host", host]]),
  },
  { weight: 1, arbitrary: fc.constant([]) },
  {
    weight: 1,
    arbitrary: fc.constant([
      ["host", "a.test"],
      ["host", "b.test"],
    ]),
  },
) as fc.Arbitrary<Array<[string, string]>>;

const extraHeaders: fc.Arbitrary<Array<[string, string]>> = fc.array(
  fc.oneof(
    fc
      .constantFrom("text/csv", "application/json", "*/*", "text/event-stream", "x;;;")
      .map((v) => ["accept", v]),
    fc.constantFrom("1", "-1", "99999999999", "abc", "0-0").map((v) => ["last-event-id", v]),
    fc.constant(["x-forwarded-host", "evil.test"]),
  ),
  { maxLength: 2 },
) as fc.Arbitrary<Array<[string, string]>>;

/** A value for body field `key`, valid-ish by its name most of the time. */
function fieldValue(world: World, key: string): fc.Arbitrary<unknown> {
  const ids = [world.group.id, world.project.id, world.hiddenGroup.id, ...Object.values(world.userIds)];
  const hostile = fc.oneof(
    fc.constantFrom<unknown>(
      null,
      true,
      [],
      {},
      -1,
      0,
      1.5,
      99999999999,
      1e308,
      "\u0000",
      "\ud800",
      "a".repeat(5000),
    ),
    fc.string({ unit: "binary", maxLength: 30 }),
    fc.jsonValue({ maxDepth: 3 }),
  );
  const plausible: Record<string, fc.Arbitrary<unknown>> = {
    name: fc.stringMatching(/^[a-z][-a-z0-9]{0,20}[a-z0-9]$/),
    path: fc.stringMatching(/^[a-z][-a-z0-9]{0,20}$/),
    username: fc.stringMatching(/^[a-z][a-z0-9]{2,20}$/),
    access_level: fc.constantFrom(10, 20, 30, 40, 50, "30"),
    scopes: fc.constantFrom(["api"], ["read_api"], "api", []),
    content: fc.oneof(
      fc.constantFrom(
        "ci_access:\n  projects:\n    - id: world/app\n",
        "ci_access:\n  groups:\n    - id: world\n      environments: [staging, 'review/*']\n",
        "user_access:\n  access_as: { agent: {} }\n",
        "",
      ),
      // A config whose entries are valid-ish paths and short patterns (at most one `*`: long
      // star patterns are item 2's own test), or whose sections hold any JSON value.
      fc
        .tuple(
          fc.stringMatching(/^[a-z][a-z/.-]{0,30}$/),
          fc.array(fc.stringMatching(/^[a-z/-]{0,8}\*?[a-z-]{0,4}$/), { maxLength: 3 }),
          fc.boolean(),
        )
        .map(
          ([path, environments, groups]) =>
            `ci_access:\n  ${groups ? "groups" : "projects"}:\n    - id: ${path}\n      environments: ${JSON.stringify(environments)}\n`,
        ),
      fc
        .record({ ci_access: fc.jsonValue({ maxDepth: 3 }), user_access: fc.jsonValue({ maxDepth: 3 }) })
        .map((config) => JSON.stringify(config)),
    ),
    namespace: fc.constantFrom<unknown>(world.group.id, world.group.full_path, world.hiddenGroup.full_path),
    environment: fc.constantFrom<unknown>(
      { name: "staging" },
      { name: "production", tier: "production" },
      null,
    ),
    ref: fc.constantFrom("main", "feature/x"),
    ref_protected: fc.boolean(),
    admin: fc.boolean(),
  };
  const byName =
    plausible[key] ??
    (key.endsWith("_id") || key === "namespace"
      ? fc.constantFrom(...ids)
      : key.includes("ips") || key.includes("cidrs")
        ? fc.constantFrom<unknown>(
            ["10.0.0.0/8"],
            ["52.1.2.3/32", "fd00::/8"],
            [],
            ["0.0.0.0/0", "::/0"],
            ["300.1.1.1/99", "::/129", "1.2.3.4/-1", "a".repeat(1000)],
            Array.from({ length: 2000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`),
          )
        : fc.constantFrom("staging", "prod", "eks"));
  return fc.oneof({ weight: 4, arbitrary: byName }, { weight: 1, arbitrary: hostile });
}

type Body = { contentType: string | null; bytes: Buffer };

function bodyArbitrary(world: World, route: RestRoute): fc.Arbitrary<Body | undefined> {
  const keys = keysOf(route.body?.schema);
  const fields = fc
    .subarray(keys)
    .chain((chosen) => fc.tuple(...chosen.map((k) => fieldValue(world, k).map((v) => [k, v] as const))))
    .chain((pairs) =>
      fc
        .dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 })
        .map((extra) => ({ ...extra, ...Object.fromEntries(pairs) })),
    );
  const asJson = fields.map(
    (o): Body => ({ contentType: "application/json", bytes: Buffer.from(JSON.stringify(o)) }),
  );
  const asForm = fields.map(
    (o): Body => ({
      contentType: "application/x-www-form-urlencoded",
      bytes: Buffer.from(
        new URLSearchParams(Object.entries(o).map(([k, v]): [string, string] => [k, String(v)])).toString(),
      ),
    }),
  );
  const garbage = fc.oneof(
    fc.jsonValue().map((v) => JSON.stringify(v) ?? "null"),
    fc.constantFrom(
      "{",
      '{"name":',
      "1e999",
      "123456789012345678901234567890",
      '{"__proto__":{"admin":true}}',
      '{"constructor":{"prototype":{"x":1}}}',
      "[".repeat(5000),
      `${"[".repeat(2000)}${"]".repeat(2000)}`,
      "\u0000",
      "ci_access: [",
      "ci_access:\n  projects: {id: 1}\n",
    ),
    fc.string({ unit: "binary", maxLength: 200 }),
  );
  const garbageBody = fc
    .tuple(
      garbage,
      fc.constantFrom<string | null>(
        "application/json",
        "application/yaml",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=utf-16",
        "x/y",
        null,
      ),
    )
    .map(([text, contentType]): Body => ({ contentType, bytes: Buffer.from(text, "utf8") }));
  const wantsBody = route.body !== undefined;
  return fc.oneof(
    { weight: wantsBody ? 6 : 0, arbitrary: asJson },
    { weight: wantsBody ? 1 : 0, arbitrary: asForm },
    { weight: wantsBody ? 2 : 1, arbitrary: garbageBody },
    { weight: wantsBody ? 1 : 8, arbitrary: fc.constant(undefined) },
  );
}

/** Whether a successful request to `route` revokes the token it is sent with. */
function revokesItsCredential(route: RestRoute): boolean {
  return route.method === "delete" && route.path === "/api/v4/personal_access_tokens/self";
}

/** One request for `route`. */
export function fuzzRequestFor(world: World, spare: Expendable, route: RestRoute): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      path: pathArbitrary(world, spare, route),
      query: queryArbitrary(world, route),
      credential: revokesItsCredential(route)
        ? fc.constant({
            label: "spare",
            headers: [["private-token", spare.selfRevoking]] as Array<[string, string]>,
          })
        : credentialArbitrary(world, spare),
      host: hostHeaders,
      extra: extraHeaders,
      body: bodyArbitrary(world, route),
    })
    .map(({ path, query, credential, host, extra, body }) => {
      const headers: Array<[string, string]> = [...host, ...credential.headers, ...extra];
      if (body?.contentType) headers.push(["content-type", body.contentType]);
      return {
        route,
        credential: credential.label,
        method: route.method.toUpperCase(),
        target: `${path}${query}`,
        headers,
        ...(body === undefined ? {} : { body: body.bytes }),
      };
    });
}

/** Any route of `routes`, then a request for it. */
export function fuzzRequest(
  world: World,
  spare: Expendable,
  routes: readonly RestRoute[],
): fc.Arbitrary<FuzzRequest> {
  return fc.constantFrom(...routes).chain((route) => fuzzRequestFor(world, spare, route));
}
