import { publishEvent } from "@kasmap/bus";
import { type RunningGateway, startGateway } from "@kasmap/gateway-service";
import { createLogger } from "@kasmap/logging";
import type { ProjectionService } from "@kasmap/projection-service";
import { openSse, testEvents } from "@kasmap/testing";
import {
  addAgentProjectHierarchy,
  type GitLabSimulator,
  type SimUser,
  startGitLabSimulator,
} from "@kasmap/testing/gitlab-simulator";
import { eventually } from "@kasmap/testing/harness";
import { createTestWorld, type TestWorld } from "@kasmap/testing/world";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMirroredProjection } from "./gitlab-mirror-seed.ts";

/**
 * Live events in GitLab mode: what an open stream delivers follows the caller as GitLab names
 * them now, within the permission TTL (1 s here) plus the stream's credential re-check. The admin
 * branch of the visibility check asks GitLab nothing, so before the fix a demoted admin's stream,
 * or one whose token was revoked while GitLab was down, went on receiving every agent's events and
 * the admin-only registry events for as long as it stayed open.
 */
const DEVELOPER = 30;
/** Generous: the stream ends within the TTL and one re-check; the old code never ended it. */
const ENDS_WITHIN_MS = 30_000;

let world: TestWorld;
let sim: GitLabSimulator;
let projection: ProjectionService;
let gateway: RunningGateway;
let agentProjectId = 0;
/** Ids of the marker events published here, unique per event. */
let nextMarkerId = 880_000;
/** Closes every stream a test opened, whether or not the server ended it. */
const closers: Array<() => void> = [];

beforeAll(async () => {
  world = await createTestWorld({ name: "live-stream-gitlab-credentials" });
  sim = await startGitLabSimulator();
  const hierarchy = addAgentProjectHierarchy(sim);
  const { agentProject } = hierarchy;
  const agent = sim.addAgent(agentProject.id, "prod-agent");
  agentProjectId = agentProject.id;
  projection = await startMirroredProjection(world, sim, hierarchy, [agent]);
  gateway = await startGateway({
    bus: world.bus,
    databaseUrl: world.database.url,
    logger: createLogger("gateway", "silent"),
    gitlab: { url: sim.url, permissionTtlSeconds: 1, timeoutMs: 2_000 },
  });
  const { token } = adminWithToken("mirror-check");
  await eventually(async () => {
    const r = await fetch(`${gateway.url}/api/v4/projects/${agentProject.id}/cluster_agents/${agent.id}`, {
      headers: { "private-token": token },
    });
    await r.body?.cancel();
    return r.status === 200 ? true : undefined;
  }, "the mirrored agent in the read model");
}, 90_000);

afterAll(async () => {
  for (const close of closers) close();
  await gateway?.stop();
  await projection?.stop();
  await sim?.close();
  await world?.teardown();
});

const streamUrl = () => `${gateway.url}/api/v4/events/stream`;

function adminWithToken(username: string): { user: SimUser; token: string } {
  const user = sim.addUser({ username, is_admin: true });
  return { user, token: sim.addToken(user.id, { scopes: ["read_api"] }) };
}

/** A registry event for admins only (a group); returns the text its frame carries. */
async function publishAdminOnlyEvent(): Promise<string> {
  const id = nextMarkerId++;
  await publishEvent(world.bus, testEvents(world.topology).group(id));
  return `"path":"group-${id}"`;
}

/** An agent's registry event in the agent's project (Developer+ there); returns its frame's text. */
async function publishAgentProjectEvent(): Promise<string> {
  const id = nextMarkerId++;
  await publishEvent(world.bus, testEvents(world.topology).agent(id, agentProjectId));
  return `"name":"agent-${id}"`;
}

type RawStream = {
  /** Everything received so far: frames, comments, the last words. */
  text(): string;
  /** Settles when the server ends the stream. */
  ended: Promise<"ended">;
};

/** Opens the stream as `token`; resolves once it is open (200). */
async function openStream(token: string): Promise<RawStream> {
  const abort = new AbortController();
  const response = await fetch(streamUrl(), { headers: { "PRIVATE-TOKEN": token }, signal: abort.signal });
  expect(response.status).toBe(200);
  closers.push(() => abort.abort());
  let received = "";
  const decoder = new TextDecoder();
  const body = response.body as unknown as AsyncIterable<Uint8Array>;
  const ended = (async () => {
    for await (const chunk of body) received += decoder.decode(chunk, { stream: true });
    return "ended" as const;
  })().catch(() => "ended" as const);
  return { text: () => received, ended };
}

function receives(stream: RawStream, marker: string): Promise<true> {
  return eventually(() => (stream.text().includes(marker) ? true : undefined), `a frame with ${marker}`);
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | "still open"> {
  return Promise.race([promise, new Promise<"still open">((r) => setTimeout(() => r("still open"), ms))]);
}

describe("an open live event stream in GitLab mode", () => {
  it("ends once GitLab demotes its admin; reopened, it carries only what they may see now", async () => {
    const demoted = adminWithToken("demoted-admin");
    // Developer on the agent's project: after the demotion they still see that project's agents.
    sim.addMember({ project_id: agentProjectId }, demoted.user.id, DEVELOPER);
    const control = await openSse(streamUrl(), adminWithToken("steady-admin").token);
    closers.push(() => control.close());
    const stream = await openStream(demoted.token);
    await receives(stream, await publishAdminOnlyEvent());

    demoted.user.is_admin = false;

    expect(await within(stream.ended, ENDS_WITHIN_MS)).toBe("ended");
    expect(stream.text()).toContain(
      ": kasmap live events ended: the caller's identity or administrator status",
    );

    // The client reconnects and gets what a Developer of the agent's project gets. The two events
    // are on one stream, delivered in order: once the second is in, the first was passed over.
    const reopened = await openStream(demoted.token);
    const adminOnly = await publishAdminOnlyEvent();
    await receives(reopened, await publishAgentProjectEvent());
    expect(reopened.text()).not.toContain(adminOnly);
    // The admin who stayed one was not swept up with it.
    await control.next((f) => JSON.stringify(f.data).includes(adminOnly), ENDS_WITHIN_MS);
  });

  it("ends once GitLab cannot confirm an admin's revoked token (GitLab down), as new requests fail", async () => {
    const revoked = adminWithToken("revoked-admin");
    const stream = await openStream(revoked.token);
    await receives(stream, await publishAdminOnlyEvent());

    sim.revokeToken(revoked.token);
    await sim.setDown(true);
    try {
      expect(await within(stream.ended, ENDS_WITHIN_MS)).toBe("ended");
      expect(stream.text()).toContain(": kasmap live events ended: the credential could not be confirmed");
      // What a new stream with the token gets meanwhile: the same fail-closed answer.
      const again = await fetch(streamUrl(), { headers: { "PRIVATE-TOKEN": revoked.token } });
      await again.body?.cancel();
      expect(again.status).toBe(503);
    } finally {
      await sim.setDown(false);
    }
  });
});
