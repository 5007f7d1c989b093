import { REST_ROUTES } from "@kasmap/contracts";
import fc from "fast-check";
import { beforeAll, expect, it } from "vitest";
import { type Expendable, type FuzzRequest, fuzzRequest } from "./http-fuzz-arbitraries.ts";
import { buildWorld, createUserWithToken, expectStatus, type World } from "./principal-world.ts";
import { sendRaw } from "./raw-http.ts";
import { kasmapSystemForFile } from "./system-for-file.ts";

/**
 * Issue 7 item 12, property-based: over every route of `REST_ROUTES` × generated path
 * parameters, queries, headers (odd `Host` values included) and bodies, sent over real HTTP to
 * the gateway with the real authz and projection, no request answers 5xx, none goes unanswered,
 * the process stays up and its memory bounded. Most requests carry a valid token of some role,
 * so the handlers behind authentication are what gets fuzzed: at least half of the requests must
 * pass authentication (the gateway's `kasmap_gateway_authenticated_requests_total`).
 *
 * CI runs a fixed seed and `FUZZ_RUNS_IN_CI` requests; `npm run fuzz` runs more with a random
 * seed: `KASMAP_FUZZ_RUNS=<n>` and `KASMAP_FUZZ_SEED=<n>|random` choose (the seed is printed,
 * so a failing run can be repeated).
 */
const FUZZ_RUNS_IN_CI = 1200;
const FIXED_SEED = 20_261_201;
/** Growth of this process's resident memory (gateway, authz and projection run in it) over a run. */
const RSS_GROWTH_BOUND_BYTES = 256 * 1024 * 1024;

const runs = Number(process.env.KASMAP_FUZZ_RUNS ?? FUZZ_RUNS_IN_CI);
const seed =
  process.env.KASMAP_FUZZ_SEED === "random"
    ? Math.floor(Math.random() * 2 ** 31)
    : Number(process.env.KASMAP_FUZZ_SEED ?? FIXED_SEED);

const system = kasmapSystemForFile();
let world: World;
let spare: Expendable;

beforeAll(async () => {
  world = await buildWorld(system);
  const victim = await createUserWithToken(system, "fuzz-victim");
  const second = await expectStatus(system, 201, "POST", `/users/${victim.id}/personal_access_tokens`, {
    name: "second",
    scopes: ["api"],
  });
  const job = await expectStatus(
    system,
    201,
    "POST",
    `/projects/${world.project.id}/jobs`,
    {},
    world.tokens.developer,
  );
  const readApi = await createUserWithToken(system, "fuzz-read-api", { scopes: ["read_api"] });
  const revoked = await createUserWithToken(system, "fuzz-revoked");
  const selfRevoking = await createUserWithToken(system, "fuzz-self-revoking");
  await expectStatus(system, 204, "DELETE", `/personal_access_tokens/${revoked.tokenId}`);
  spare = {
    userId: victim.id,
    tokenIds: [victim.tokenId, Number(second.id)],
    jobId: Number(job.id),
    otherTokens: { readApi: readApi.token, revoked: revoked.token },
    selfRevoking: selfRevoking.token,
  };
});

async function authenticatedSoFar(): Promise<number> {
  const text = await (await fetch(`${system.gatewayUrl}/metrics`)).text();
  const line = /^kasmap_gateway_authenticated_requests_total (\d+)$/m.exec(text);
  if (!line) throw new Error("the gateway exposes no kasmap_gateway_authenticated_requests_total");
  return Number(line[1]);
}

function describeRequest(request: FuzzRequest): string {
  const body =
    request.body === undefined ? "" : ` body=${JSON.stringify(request.body.toString("utf8").slice(0, 300))}`;
  return `${request.method} ${request.target.slice(0, 300)} [${request.credential}] headers=${JSON.stringify(
    request.headers.map(([name, value]) => [name, value.slice(0, 60)]),
  )}${body}`;
}

it(
  "no generated request answers 5xx, hangs or crashes the gateway, or labels JSON other than application/json; most get past authentication",
  async () => {
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let tried = 0;
    const authenticatedBefore = await authenticatedSoFar();
    const rssBefore = process.memoryUsage().rss;
    const started = Date.now();

    await fc.assert(
      fc.asyncProperty(fuzzRequest(world, spare, REST_ROUTES), async (request) => {
        tried += 1;
        try {
          const response = await sendRaw(system.gatewayUrl, request);
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          if (response.status >= 500) {
            failures.push(`${response.status} ${response.body.slice(0, 200)} <- ${describeRequest(request)}`);
          }
          // GitLab's JSON answers say `application/json` and nothing more (issue 10).
          const type = response.headers["content-type"] ?? "";
          if (/json/i.test(type) && type !== "application/json") {
            failures.push(`content-type ${type} <- ${describeRequest(request)}`);
          }
        } catch (error) {
          failures.push(`${String(error)} <- ${describeRequest(request)}`);
        }
      }),
      { seed, numRuns: runs },
    );

    const authenticated = (await authenticatedSoFar()) - authenticatedBefore;
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    const health = await fetch(`${system.gatewayUrl}/-/health`);
    const byClass = [...statuses].sort(([a], [b]) => a - b).map(([status, n]) => `${status}:${n}`);
    console.log(
      [
        `HTTP fuzz: seed ${seed}, ${tried} requests over ${REST_ROUTES.length} routes in ${Date.now() - started} ms`,
        `  5xx or unanswered: ${failures.length}`,
        `  passed authentication: ${authenticated} (${((100 * authenticated) / Math.max(tried, 1)).toFixed(1)} %)`,
        `  RSS growth: ${(rssGrowth / 2 ** 20).toFixed(1)} MiB (bound ${RSS_GROWTH_BOUND_BYTES / 2 ** 20} MiB)`,
        `  statuses: ${byClass.join(" ")}`,
        ...failures.slice(0, 20).map((f) => `  ${f}`),
      ].join("\n"),
    );

    expect(failures.slice(0, 20)).toEqual([]);
    expect(health.status).toBe(200);
    expect(authenticated * 2, "at least half the requests pass authentication").toBeGreaterThanOrEqual(tried);
    expect(rssGrowth).toBeLessThan(RSS_GROWTH_BOUND_BYTES);
  },
  60_000 + runs * 250,
);
