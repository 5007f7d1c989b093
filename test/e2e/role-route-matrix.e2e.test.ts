import { REST_ROUTES, type RestRoute } from "@kasmap/contracts";
import { beforeAll, describe, expect, it } from "vitest";
import { arrangeCell, auditEventIdOf, fillPath, routeKey, throwawayCopy } from "./matrix-cells.ts";
import { expectedStatus, MATRIX } from "./matrix-expectations.ts";
import {
  createPrincipals,
  MEMBER_ROLES,
  PRINCIPALS,
  type PrincipalCredential,
  type PrincipalName,
} from "./matrix-principals.ts";
import { buildWorld, expectStatus, type World } from "./principal-world.ts";
import { type RawResponse, sendRaw } from "./raw-http.ts";
import { kasmapSystemForFile } from "./system-for-file.ts";

/**
 * Issue 7: every route of `REST_ROUTES` × every principal (no, bad, revoked, expired, `read_api`
 * token, blocked user, non-member, guest … owner, admin, job token, finished job's token) answers
 * the status written by hand in `matrix-expectations.ts` from GitLab's documentation; no error
 * body carries data; a hidden resource and a missing one answer byte for byte the same.
 * A principal the system cannot make yet fails its test with the reason (never skipped).
 */
const system = kasmapSystemForFile();
let world: World;
let principals: Record<PrincipalName, PrincipalCredential>;
let destinationGroup: number;
/**
 * Children of the hidden project: an agent token, a CI job and an audit event (the hidden agent
 * is the world's).
 */
let hiddenChildren: Record<"agent_id" | "token_id" | "job_id" | "audit_event_id", number>;

beforeAll(async () => {
  world = await buildWorld(system);
  const destination = await expectStatus(system, 201, "POST", "/groups", {
    name: "dest",
    path: "dest",
    parent_id: world.group.id,
  });
  destinationGroup = Number(destination.id);
  const hiddenAgentPath = `/projects/${world.hiddenProject.id}/cluster_agents/${world.hiddenAgent.id}`;
  const hiddenToken = await expectStatus(system, 201, "POST", `${hiddenAgentPath}/tokens`, {
    name: "hidden",
  });
  const hiddenJob = await expectStatus(system, 201, "POST", `/projects/${world.hiddenProject.id}/jobs`, {});
  hiddenChildren = {
    agent_id: world.hiddenAgent.id,
    token_id: Number(hiddenToken.id),
    job_id: Number(hiddenJob.id),
    audit_event_id: await auditEventIdOf(world, world.hiddenProject.id),
  };
  principals = await createPrincipals(world);
}, 120_000);

/** Keys GitLab's error bodies have; anything else in an error body is data. */
const ERROR_KEYS = new Set(["message", "error", "error_description", "scope"]);
/** Text no error body may hold: names of resources, token prefixes. */
const SECRET_TEXT = ["hidden", "secret", "world-agent", "glpat-", "glagent-", "kmcol-"];

function send(
  headers: Array<[string, string]>,
  method: string,
  target: string,
  body?: unknown,
): Promise<RawResponse> {
  const all: Array<[string, string]> = [["host", "kasmap.test"], ...headers];
  if (body !== undefined) all.push(["content-type", "application/json"]);
  return sendRaw(system.gatewayUrl, {
    method,
    target,
    headers: all,
    ...(body === undefined ? {} : { body: Buffer.from(JSON.stringify(body)) }),
  });
}

/** Why an error body leaks, or null. */
function leakIn(response: RawResponse): string | null {
  if (response.status < 400) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body);
  } catch {
    return `error body is not JSON: ${response.body.slice(0, 100)}`;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    return "error body is not an object";
  const extra = Object.keys(parsed).filter((key) => !ERROR_KEYS.has(key));
  if (extra.length > 0) return `error body has data keys ${extra.join(", ")}`;
  const found = SECRET_TEXT.find((text) => response.body.includes(text));
  return found ? `error body mentions "${found}"` : null;
}

it("every route of REST_ROUTES has a hand-written row", () => {
  const missing = REST_ROUTES.map(routeKey).filter((key) => MATRIX[key] === undefined);
  expect(missing, "routes without expectations in matrix-expectations.ts").toEqual([]);
});

describe("role × route matrix", () => {
  it.each(PRINCIPALS)(
    "%s: every route answers its expected status and leaks nothing",
    async (principal) => {
      const credential = principals[principal];
      if ("unavailable" in credential) {
        throw new Error(`principal "${principal}" cannot be created yet: ${credential.unavailable}`);
      }
      const problems: string[] = [];
      for (const route of REST_ROUTES) {
        const row = MATRIX[routeKey(route)];
        if (!row) continue;
        const cell = await arrangeCell(world, route, destinationGroup);
        const headers = cell.consumesCredential
          ? await throwawayCopy(world, credential.headers)
          : credential.headers;
        const response = await send(headers, route.method.toUpperCase(), cell.target, cell.body);
        const expected = expectedStatus(row, principal);
        if (response.status !== expected) {
          problems.push(
            `${routeKey(route)}: expected ${expected}, got ${response.status} ${response.body.slice(0, 160)}`,
          );
        }
        const leak = leakIn(response);
        if (leak) problems.push(`${routeKey(route)}: ${leak}`);
      }
      expect(problems).toEqual([]);
    },
    120_000,
  );

  it("prints its size and departures", () => {
    const departures = Object.entries(MATRIX).flatMap(([key, row]) =>
      row.kasmap ? [`  ${key}: ${JSON.stringify(row.kasmap.statuses)} — ${row.kasmap.reason}`] : [],
    );
    const routes = REST_ROUTES.filter((route) => MATRIX[routeKey(route)]).length;
    console.log(
      [
        `role × route matrix: ${routes} routes × ${PRINCIPALS.length} principals = ${routes * PRINCIPALS.length} cells`,
        `departures from GitLab (${departures.length} routes):`,
        ...departures,
      ].join("\n"),
    );
    expect(routes).toBe(REST_ROUTES.length);
  });
});

describe("existence", () => {
  /** Principals that hold no role where the hidden resources live. */
  const WITHOUT_ACCESS: PrincipalName[] = ["read_api", "non_member", ...MEMBER_ROLES];
  const MISSING = {
    id: 999_999_999,
    agent_id: 999_999_998,
    token_id: 999_999_997,
    job_id: 999_999_996,
    audit_event_id: 999_999_995,
  };
  const ANY_BODY = {
    name: "x",
    path: "x",
    content: "",
    cluster_name: "x",
    user_id: 1,
    access_level: 10,
    namespace: 1,
  };
  const withIds = (route: RestRoute) =>
    route.path.includes(":") &&
    !route.path.startsWith("/api/v4/users/") &&
    !route.path.includes("personal_access_tokens");

  it.each(WITHOUT_ACCESS)(
    "%s: a hidden resource answers exactly as a missing one, on every route with ids",
    async (principal) => {
      const credential = principals[principal];
      if ("unavailable" in credential) throw new Error(`principal "${principal}": ${credential.unavailable}`);
      const problems: string[] = [];
      for (const route of REST_ROUTES.filter(withIds)) {
        const hiddenId = route.path.startsWith("/api/v4/groups/")
          ? world.hiddenGroup.id
          : world.hiddenProject.id;
        // The hidden project (or group) itself, then each hidden child under a visible parent.
        const pairs: Array<[string, Record<string, number>, Record<string, number>]> = [
          ["hidden parent", { id: hiddenId, ...hiddenChildren }, MISSING],
          ...(["agent_id", "token_id", "job_id", "audit_event_id"] as const)
            .filter((param) => route.path.includes(`:${param}`))
            .map((param): [string, Record<string, number>, Record<string, number>] => [
              `hidden ${param} under a visible parent`,
              { [param]: hiddenChildren[param] },
              { [param]: MISSING[param] },
            ]),
        ];
        for (const [what, hidden, missing] of pairs) {
          const method = route.method.toUpperCase();
          const body = route.body ? ANY_BODY : undefined;
          const a = await send(credential.headers, method, fillPath(world, route.path, hidden), body);
          const b = await send(credential.headers, method, fillPath(world, route.path, missing), body);
          if (a.status !== b.status || a.body !== b.body) {
            problems.push(
              `${routeKey(route)} (${what}): hidden ${a.status} ${a.body} ≠ missing ${b.status} ${b.body}`,
            );
          }
        }
      }
      expect(problems).toEqual([]);
    },
    120_000,
  );
});
