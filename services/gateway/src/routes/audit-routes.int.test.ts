import { AuditEventResponseSchema } from "@kasmap/contracts";
import { GITLAB_AUDIT_EVENT_KEYS } from "@kasmap/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type GatewayFixture,
  IDS,
  insertAgent,
  OTHER_PROJECT,
  PROJECT,
  startGatewayFixture,
  TOKENS,
} from "../testing/gateway-fixture.ts";

/**
 * The audit-event routes on rows inserted as the projection writes them: GitLab's entity,
 * keyset pages (gitlab-org/gitlab lib/api/helpers/pagination_strategies.rb,
 * lib/gitlab/pagination/keyset/cursor_pager.rb) and the single-event routes
 * (ee/lib/ee/api/projects.rb, ee/lib/api/audit_events.rb).
 */
let f: GatewayFixture;
/** Ids of the project's seven events by the admin, newest id first, and of the other project's one. */
let projectIds: number[];
let otherProjectId: number;
/** A last event of the project, authored by the developer. */
let developersId: number;

async function insertAuditEvent(
  entityId: number,
  n: number,
  agentId: number,
  authorId: number = IDS.admin,
): Promise<number> {
  const row = await f.db
    .insertInto("read_model.audit_events")
    .values({
      event_id: `e2e-${entityId}-${n}`,
      event_type: "cluster_agent_token_created",
      author_id: authorId,
      entity_id: entityId,
      entity_path: entityId === PROJECT ? "acme/platform/infra" : "acme/other",
      target_id: 500 + n,
      target_type: "Clusters::AgentToken",
      details: JSON.stringify({ custom_message: "Created cluster agent token", token_name: `t${n}` }),
      created_at: new Date(Date.UTC(2026, 2, 1, 0, n)).toISOString(),
      agent_id: agentId,
      stream: "test",
      stream_seq: n,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

beforeAll(async () => {
  f = await startGatewayFixture();
  await insertAgent(f.db, 300, "prod");
  await insertAgent(f.db, 301, "other", OTHER_PROJECT);
  const ids: number[] = [];
  for (let n = 1; n <= 7; n++) ids.push(await insertAuditEvent(PROJECT, n, 300));
  otherProjectId = await insertAuditEvent(OTHER_PROJECT, 8, 301);
  projectIds = ids.reverse();
  developersId = await insertAuditEvent(PROJECT, 9, 300, IDS.developer);
}, 60_000);

afterAll(() => f?.close());

const get = (path: string, token: string = TOKENS.admin) => f.call(path, { token });

async function keysetWalk(first: string): Promise<{ ids: number[]; pages: number }> {
  const ids: number[] = [];
  let next: string | null = first;
  let pages = 0;
  while (next !== null) {
    const response = await get(next.replace(/^https?:\/\/[^/]+/, ""));
    expect(response.status).toBe(200);
    expect(response.headers.get("x-total")).toBeNull();
    expect(response.headers.get("x-next-page")).toBeNull();
    const body = (await response.json()) as Array<{ id: number }>;
    ids.push(...body.map((event) => event.id));
    pages++;
    const link = response.headers.get("link");
    next = link === null ? null : (/^<([^>]+)>; rel="next"$/.exec(link)?.[1] ?? "malformed");
  }
  return { ids, pages };
}

describe("the REST body", () => {
  it("is GitLab's entity: seven keys, target and author inside details", async () => {
    const response = await get(`/api/v4/projects/${PROJECT}/audit_events?per_page=1`);
    const [event] = (await response.json()) as Array<Record<string, unknown>>;
    expect(Object.keys(event ?? {}).sort()).toEqual([...GITLAB_AUDIT_EVENT_KEYS]);
    expect(AuditEventResponseSchema.parse(event)).toMatchObject({
      event_name: "cluster_agent_token_created",
      details: {
        author_name: "User developer",
        target_type: "Clusters::AgentToken",
        target_details: "t9",
        custom_message: "Created cluster agent token",
        entity_path: "acme/platform/infra",
      },
    });
  });
});

describe("keyset pagination", () => {
  it("walks every page by cursor, newest id first, with only a next link", async () => {
    for (const base of [`/api/v4/projects/${PROJECT}/audit_events`, "/api/v4/-/kasmap/audit_events"]) {
      const filter = base.includes("kasmap") ? `&entity_type=Project&entity_id=${PROJECT}` : "";
      const walked = await keysetWalk(`${base}?pagination=keyset&order_by=id&sort=desc&per_page=3${filter}`);
      expect(walked).toEqual({ ids: [developersId, ...projectIds], pages: 3 });
    }
  });

  it("answers GitLab's 405 to an order audit events do not page by, and 400 to a forged cursor", async () => {
    const base = `/api/v4/projects/${PROJECT}/audit_events?pagination=keyset`;
    const wrongOrder = await get(`${base}&order_by=created_at&sort=asc`);
    expect(wrongOrder.status).toBe(405);
    expect(await wrongOrder.json()).toEqual({
      error: "Keyset pagination is not yet available for this type of request",
    });
    const forged = await get(`${base}&cursor=%21%21`);
    expect([forged.status, await forged.json()]).toEqual([400, { error: "cursor is invalid" }]);
  });

  it("leaves offset pages as they were", async () => {
    const response = await get(`/api/v4/projects/${PROJECT}/audit_events?per_page=3&page=2`);
    expect(response.headers.get("x-total")).toBe("8");
    expect(response.headers.get("x-page")).toBe("2");
    expect(((await response.json()) as Array<{ id: number }>).map((e) => e.id)).toEqual(
      projectIds.slice(2, 5),
    );
  });
});

describe("single events", () => {
  it("answers one event of the project on both paths", async () => {
    for (const prefix of ["/api/v4", "/api/v4/-/kasmap"]) {
      const response = await get(`${prefix}/projects/${PROJECT}/audit_events/${projectIds[0]}`);
      expect(response.status).toBe(200);
      expect(AuditEventResponseSchema.parse(await response.json()).id).toBe(projectIds[0]);
    }
  });

  it("answers another project's event exactly as a missing one: 404 Not found", async () => {
    const other = await get(`/api/v4/projects/${PROJECT}/audit_events/${otherProjectId}`);
    const missing = await get(`/api/v4/projects/${PROJECT}/audit_events/999999999`);
    expect([other.status, await other.text()]).toEqual([404, '{"message":"404 Not found"}']);
    expect([missing.status, await missing.text()]).toEqual([404, '{"message":"404 Not found"}']);
  });

  it("checks the project before the event: 403 below Developer, 404 to an outsider, 400 for a non-integer id", async () => {
    const path = `/api/v4/projects/${PROJECT}/audit_events/${projectIds[0]}`;
    expect((await get(path, TOKENS.reporter)).status).toBe(403);
    expect((await get(path, TOKENS.outsider)).status).toBe(404);
    const invalid = await get(`/api/v4/projects/${PROJECT}/audit_events/abc`);
    expect([invalid.status, await invalid.json()]).toEqual([400, { error: "audit_event_id is invalid" }]);
  });

  it("shows a Developer only the events they authored, as GitLab: another author's is 404", async () => {
    const list = await get(`/api/v4/projects/${PROJECT}/audit_events`, TOKENS.developer);
    expect(((await list.json()) as Array<{ id: number }>).map((e) => e.id)).toEqual([developersId]);
    const keyset = await get(`/api/v4/projects/${PROJECT}/audit_events?pagination=keyset`, TOKENS.developer);
    expect(((await keyset.json()) as Array<{ id: number }>).map((e) => e.id)).toEqual([developersId]);
    const own = await get(`/api/v4/projects/${PROJECT}/audit_events/${developersId}`, TOKENS.developer);
    expect(own.status).toBe(200);
    const others = await get(`/api/v4/projects/${PROJECT}/audit_events/${projectIds[0]}`, TOKENS.developer);
    expect([others.status, await others.json()]).toEqual([404, { message: "404 Not found" }]);
  });

  it("answers any event to an admin on the instance route, 403 to others, 404 for an unknown id", async () => {
    const found = await get(`/api/v4/audit_events/${otherProjectId}`);
    expect(AuditEventResponseSchema.parse(await found.json()).entity_id).toBe(OTHER_PROJECT);
    expect((await get(`/api/v4/audit_events/${otherProjectId}`, TOKENS.developer)).status).toBe(403);
    const unknown = await get("/api/v4/-/kasmap/audit_events/999999999");
    expect([unknown.status, await unknown.json()]).toEqual([404, { message: "404 Not found" }]);
  });
});
