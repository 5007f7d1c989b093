import { type Bus, connectBus } from "@kasmap/bus";
import {
  GITLAB_HOOK_BODY_MAX_BYTES,
  GitLabInboxMessageSchema,
  type SyncStatus,
  type Topology,
} from "@kasmap/contracts";
import { createLogger } from "@kasmap/logging";
import { eventually, testNatsUrl } from "@kasmap/testing/harness";
import { testWorldForFile } from "@kasmap/testing/world";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningGateway, startGateway } from "./index.ts";

/**
 * Issue 9 item 2: GitLab's deliveries reach the inbox stream only with the configured secret,
 * only as a JSON object within the limit, and are answered 200 once stored; standalone answers
 * 404. Readiness and /metrics report the mirror's staleness from the sync service's status.
 */
const HOOK_SECRET = "hook-secret-of-this-test";
const STREAMING_TOKEN = "streaming-token-of-this-test";
const world = testWorldForFile({ name: "gateway-gitlab-inbox-int-test" });
let gitlabMode: RunningGateway;
let standalone: RunningGateway;
let standaloneBus: Bus;

beforeAll(async () => {
  const logger = createLogger("gateway", "silent");
  gitlabMode = await startGateway({
    bus: world.bus,
    databaseUrl: world.database.url,
    logger,
    gitlabMirror: { hookSecret: HOOK_SECRET, streamingToken: STREAMING_TOKEN },
  });
  standaloneBus = await connectBus({ url: testNatsUrl(), name: "standalone", topology: world.topology });
  standalone = await startGateway({ bus: standaloneBus, databaseUrl: world.database.url, logger });
}, 60_000);

afterAll(async () => {
  await gitlabMode?.stop();
  await standalone?.stop();
  await standaloneBus?.close();
});

/** A delivery as GitLab POSTs it to one of the two inbox routes: JSON, with `headers`. */
function deliver(
  gateway: RunningGateway,
  path: "hooks" | "audit-events",
  headers: Record<string, string>,
  body: string | Uint8Array,
): Promise<Response> {
  return fetch(`${gateway.url}/api/v4/-/gitlab/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
}

async function inboxMessages(topology: Topology, bus: Bus) {
  const info = await bus.jsm.streams.info(topology.streamNames.gitlabInbox);
  const messages = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const stored = await bus.jsm.streams.getMessage(topology.streamNames.gitlabInbox, { seq });
    if (stored)
      messages.push({ subject: stored.subject, body: GitLabInboxMessageSchema.parse(stored.json()) });
  }
  return messages;
}

describe("GitLab delivery routes", () => {
  it("stores a system hook with the right secret and answers 200 {}", async () => {
    const before = (await inboxMessages(world.topology, world.bus)).length;
    const hook = { event_name: "project_create", project_id: 42, name: "App" };
    const response = await deliver(
      gitlabMode,
      "hooks",
      { "x-gitlab-token": HOOK_SECRET, "x-gitlab-event": "System Hook" },
      JSON.stringify(hook),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({});
    const stored = (await inboxMessages(world.topology, world.bus)).slice(before);
    expect(stored).toHaveLength(1);
    expect(stored[0]?.subject).toBe(world.topology.subjects.gitlabInbox("hook"));
    expect(stored[0]?.body).toMatchObject({ source: "hook", gitlab_event: "System Hook", payload: hook });
  });

  it("stores an audit streaming event with the streaming token", async () => {
    const event = { event_type: "cluster_agent_created", entity_id: 7, entity_type: "Project" };
    const response = await deliver(
      gitlabMode,
      "audit-events",
      {
        "x-gitlab-event-streaming-token": STREAMING_TOKEN,
        "x-gitlab-audit-event-type": "cluster_agent_created",
      },
      JSON.stringify(event),
    );
    expect(response.status).toBe(200);
    const last = (await inboxMessages(world.topology, world.bus)).at(-1);
    expect(last?.subject).toBe(world.topology.subjects.gitlabInbox("audit"));
    expect(last?.body).toMatchObject({
      source: "audit",
      gitlab_event: "cluster_agent_created",
      payload: event,
    });
  });

  it("refuses a missing or wrong secret with GitLab's 401, and stores nothing", async () => {
    const before = (await inboxMessages(world.topology, world.bus)).length;
    const body = JSON.stringify({ event_name: "project_destroy", project_id: 1 });
    const answers = [
      await deliver(gitlabMode, "hooks", {}, body),
      await deliver(gitlabMode, "hooks", { "x-gitlab-token": "wrong" }, body),
      await deliver(gitlabMode, "hooks", { "x-gitlab-token": STREAMING_TOKEN }, body),
      await deliver(gitlabMode, "audit-events", { "x-gitlab-event-streaming-token": HOOK_SECRET }, body),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect(await answer.json()).toEqual({ message: "401 Unauthorized" });
    }
    expect(await inboxMessages(world.topology, world.bus)).toHaveLength(before);
  });

  it("answers 401 to everyone when the secret is not configured", async () => {
    const unset = await startGateway({
      bus: world.bus,
      databaseUrl: world.database.url,
      logger: createLogger("gateway", "silent"),
      gitlabMirror: {},
    });
    try {
      const answer = await deliver(unset, "hooks", { "x-gitlab-token": "" }, "{}");
      expect(answer.status).toBe(401);
      const audit = await deliver(unset, "audit-events", { "x-gitlab-event-streaming-token": "x" }, "{}");
      expect(audit.status).toBe(401);
    } finally {
      await unset.stop();
    }
  });

  it("refuses bodies that are not one JSON object (400) or over the limit (413)", async () => {
    const auth = { "x-gitlab-token": HOOK_SECRET };
    for (const body of ["not json", "[1,2]", "42", "null", ""]) {
      const answer = await deliver(gitlabMode, "hooks", auth, body);
      expect(answer.status, body).toBe(400);
      expect(await answer.json()).toHaveProperty("message");
    }
    const huge = JSON.stringify({ padding: "x".repeat(GITLAB_HOOK_BODY_MAX_BYTES) });
    const tooLarge = await deliver(gitlabMode, "hooks", auth, huge);
    expect(tooLarge.status).toBe(413);
  });

  it("answers a body that cannot be stored as it came 400 or 413, never 503, and stores nothing", async () => {
    const before = (await inboxMessages(world.topology, world.bus)).length;
    const auth = { "x-gitlab-token": HOOK_SECRET };
    // Invalid UTF-8 inside a JSON string (each byte would become a 3-byte U+FFFD once stored).
    const notUtf8 = Buffer.concat([
      Buffer.from('{"name":"'),
      Buffer.alloc(900 * 1024, 0xff),
      Buffer.from('"}'),
    ]);
    const nested = `{"a":${"[".repeat(200_000)}${"]".repeat(200_000)}}`;
    // Under the body limit, but each `1e20` (4 bytes) is stored as its 21 digits.
    const growing = `{"a":[${Array.from({ length: 150_000 }, () => "1e20").join(",")}]}`;
    expect(Buffer.byteLength(growing)).toBeLessThan(GITLAB_HOOK_BODY_MAX_BYTES);
    const answers = [
      [await deliver(gitlabMode, "hooks", auth, notUtf8), 400, "body is not UTF-8"],
      [await deliver(gitlabMode, "hooks", auth, nested), 400, "body is nested too deeply"],
      [await deliver(gitlabMode, "hooks", auth, growing), 413, "the delivery, as stored, is"],
    ] as const;
    for (const [answer, status, message] of answers) {
      expect(answer.status, message).toBe(status);
      expect(JSON.stringify(await answer.json())).toContain(message);
    }
    expect(await inboxMessages(world.topology, world.bus)).toHaveLength(before);
  });

  it("stores a delivery GitLab resends with the same Idempotency-Key once", async () => {
    const before = (await inboxMessages(world.topology, world.bus)).length;
    const headers = {
      "x-gitlab-token": HOOK_SECRET,
      "idempotency-key": "4e5c9b7e-1f7a-4d0a-9a55-0c2b8f1b6f3d",
    };
    const body = JSON.stringify({ event_name: "group_create", group_id: 9 });
    expect((await deliver(gitlabMode, "hooks", headers, body)).status).toBe(200);
    expect((await deliver(gitlabMode, "hooks", headers, body)).status).toBe(200);
    expect(await inboxMessages(world.topology, world.bus)).toHaveLength(before + 1);
  });

  it("does not exist in standalone mode (404, as any unknown route)", async () => {
    const answer = await deliver(standalone, "hooks", { "x-gitlab-token": HOOK_SECRET }, "{}");
    expect(answer.status).toBe(404);
    expect(await answer.json()).toEqual({ error: "404 Not Found" });
    expect((await deliver(standalone, "audit-events", {}, "{}")).status).toBe(404);
  });
});

type Readiness = { status: string; mirror_check?: Array<{ status: string; age_seconds?: number }> };

async function readinessWithMirror(status: string): Promise<Readiness> {
  return eventually(async () => {
    const body = (await (await fetch(`${gitlabMode.url}/-/readiness`)).json()) as Readiness;
    return body.mirror_check?.[0]?.status === status ? body : undefined;
  }, `readiness with mirror_check ${status}`);
}

describe("readiness and metrics in GitLab mode", () => {
  it("report the mirror stale when the last reconcile is old, ok when fresh, failed without a sync service", async () => {
    // No sync service answers yet: reported as failed, readiness itself stays ok.
    const silent = await (await fetch(`${gitlabMode.url}/-/readiness`)).json();
    expect(silent).toMatchObject({ status: "ok", mirror_check: [{ status: "failed" }] });

    let status: SyncStatus = {
      reconcile_seconds: 60,
      last_reconcile_started_at: new Date(Date.now() - 600_000).toISOString(),
      last_reconcile_completed_at: new Date(Date.now() - 590_000).toISOString(),
      last_error: "GitLab unreachable: connect ECONNREFUSED",
      gitlab_reachable: false,
      mirrored: { groups: 3, projects: 2, agents: 1 },
    };
    const responder = world.bus.nc.subscribe(world.topology.subjects.syncCommand("status"), {
      callback: (_error, message) => {
        message.respond(JSON.stringify(status));
      },
    });
    try {
      // Readiness reads the status at most every 2 s: wait for a reading with the responder.
      const stale = await readinessWithMirror("stale");
      expect(stale).toMatchObject({
        status: "ok",
        mirror_check: [{ status: "stale", gitlab_reachable: false, reconcile_seconds: 60 }],
      });
      expect(stale.mirror_check?.[0]?.age_seconds).toBeGreaterThanOrEqual(590);
      const metrics = await (await fetch(`${gitlabMode.url}/metrics`)).text();
      expect(metrics).toContain("kasmap_gitlab_mirror_stale 1");
      expect(metrics).toContain("kasmap_gitlab_reachable 0");
      expect(metrics).toMatch(/kasmap_gitlab_mirror_age_seconds \d+/);
      expect(metrics).toContain('kasmap_gitlab_mirrored_objects{kind="projects"} 2');

      status = {
        ...status,
        last_reconcile_completed_at: new Date().toISOString(),
        last_error: null,
        gitlab_reachable: true,
      };
      const fresh = await readinessWithMirror("ok");
      expect(fresh).toMatchObject({ status: "ok", mirror_check: [{ status: "ok", gitlab_reachable: true }] });
    } finally {
      responder.unsubscribe();
    }
  });

  it("has no mirror check in standalone mode", async () => {
    const body = await (await fetch(`${standalone.url}/-/readiness`)).json();
    expect(body).not.toHaveProperty("mirror_check");
  });
});
