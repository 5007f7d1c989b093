import { type Bus, connectBus, ensureStreams } from "@kasmap/bus";
import { DEAD_LETTER_HEADERS, KasmapError } from "@kasmap/contracts";
import { createGitLabClient } from "@kasmap/gitlab-api";
import { createLogger } from "@kasmap/logging";
import { readDeadLetters } from "@kasmap/testing";
import { type GitLabSimulator, startGitLabSimulator } from "@kasmap/testing/gitlab-simulator";
import { createTestTopology, eventually, testNatsUrl } from "@kasmap/testing/harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GitLabMirror } from "../gitlab-mirror.ts";
import type { MirrorCommands } from "../mirror-commands.ts";
import { SyncHealth } from "../sync-status.ts";
import { INBOX_CONSUMER, type InboxConsumer, startInboxConsumer } from "./inbox-consumer.ts";

/**
 * The inbox consumer never jams: a delivery that keeps failing for a reason that may pass is
 * dead-lettered at its cap and terminated, and one authz refuses for good (`payload_too_large`
 * included) is acknowledged at once, so the deliveries after them are applied. Real NATS
 * JetStream and the GitLab simulator; authz is a stand-in that refuses what each case needs.
 */
const RETRY = { maxDeliveries: 3, baseDelayMs: 20, maxDelayMs: 50 };
let bus: Bus;
let gitlab: GitLabSimulator;
let inbox: InboxConsumer;
const ids = { stuck: 0, fine: 0, agentProject: 0, agent: 0 };
/** What the stand-in authz was asked: project puts by id, agent config puts by agent id. */
const projectPuts = new Map<number, number>();
const configPuts = new Map<number, number>();

/** authz as the sync sees it, refusing the stuck project (unavailable) and the agent's config. */
function standInAuthz(): MirrorCommands {
  const count = (map: Map<number, number>, id: number) => map.set(id, (map.get(id) ?? 0) + 1);
  const unused = () => Promise.reject(new Error("not used by the inbox in this test"));
  return {
    async putProject(project) {
      count(projectPuts, project.id);
      if (project.id === ids.stuck) throw new KasmapError("unavailable", "authz service did not answer");
    },
    async putGroup() {},
    putGroups: unused,
    putProjects: unused,
    async putAgent() {},
    async putAgentConfig(agentId) {
      count(configPuts, agentId);
      throw new KasmapError("payload_too_large", "command mirror.agent_config.put is over max_payload");
    },
    async remove() {},
    beginWalk: unused,
    keepAgentsOf: unused,
    sweep: unused,
    status: unused,
  };
}

async function storeHook(payload: Record<string, unknown>): Promise<number> {
  const message = {
    received_at: new Date().toISOString(),
    source: "hook",
    gitlab_event: "System Hook",
    payload,
  };
  const ack = await bus.js.publish(bus.topology.subjects.gitlabInbox("hook"), JSON.stringify(message));
  return ack.seq;
}

const projectUpdate = (projectId: number) => ({ event_name: "project_update", project_id: projectId });

beforeAll(async () => {
  bus = await connectBus({ url: testNatsUrl(), name: "inbox-consumer-test", topology: createTestTopology() });
  await ensureStreams(bus);
  gitlab = await startGitLabSimulator();
  const admin = gitlab.addUser({ username: "sync-admin", is_admin: true });
  const group = gitlab.addGroup({ path: "platform" });
  ids.stuck = gitlab.addProject({ path: "stuck", namespace_id: group.id }).id;
  ids.fine = gitlab.addProject({ path: "fine", namespace_id: group.id }).id;
  ids.agentProject = gitlab.addProject({ path: "agents", namespace_id: group.id }).id;
  ids.agent = gitlab.addAgent(ids.agentProject, "big").id;
  gitlab.setFile(ids.agentProject, ".gitlab/agents/big/config.yaml", "ci_access: {}\n");
  const client = createGitLabClient({
    baseUrl: gitlab.url,
    token: gitlab.addToken(admin.id),
    timeoutMs: 2_000,
  });
  inbox = await startInboxConsumer({
    bus,
    gitlab: new GitLabMirror(client, standInAuthz()),
    rootGroups: null,
    health: new SyncHealth(300),
    logger: createLogger("gitlab-sync", "silent"),
    retry: RETRY,
  });
}, 60_000);

afterAll(async () => {
  await inbox?.stop();
  await bus?.close();
  await gitlab?.close();
});

describe("GitLab inbox consumer", () => {
  it("dead-letters deliveries that keep failing at their cap, and applies the ones behind them", async () => {
    // More than the consumer's 16 deliveries in flight, all naming a project authz never takes.
    const stuckSeqs: number[] = [];
    for (let i = 0; i < 20; i++) stuckSeqs.push(await storeHook(projectUpdate(ids.stuck)));
    await storeHook(projectUpdate(ids.fine));

    await eventually(() => projectPuts.get(ids.fine), "the hook behind the stuck ones applied", 20_000);
    const letters = await eventually(async () => {
      const all = (await readDeadLetters(bus)).filter(
        (letter) => letter.header?.get(DEAD_LETTER_HEADERS.stream) === bus.topology.streamNames.gitlabInbox,
      );
      return all.length >= stuckSeqs.length ? all : undefined;
    }, "a dead letter per stuck delivery");
    expect(
      letters.map((letter) => Number(letter.header?.get(DEAD_LETTER_HEADERS.seq))).sort((a, b) => a - b),
    ).toEqual(stuckSeqs);
    for (const letter of letters) {
      expect(letter.header?.get(DEAD_LETTER_HEADERS.consumer)).toBe(INBOX_CONSUMER);
      expect(letter.header?.get(DEAD_LETTER_HEADERS.reason)).toBe(
        "not applied after 3 deliveries: unavailable: authz service did not answer",
      );
    }
    // Each was tried exactly its cap of times, then left alone.
    expect(projectPuts.get(ids.stuck)).toBe(20 * RETRY.maxDeliveries);
    const consumer = await bus.jsm.consumers.info(bus.topology.streamNames.gitlabInbox, INBOX_CONSUMER);
    expect(consumer.num_ack_pending).toBe(0);
    expect(consumer.num_pending).toBe(0);
  });

  it("acknowledges a change authz refuses as payload_too_large once, without retrying or dead-lettering it", async () => {
    const lettersBefore = (await readDeadLetters(bus)).length;
    const seq = await storeHook(projectUpdate(ids.agentProject));
    const marker = await storeHook(projectUpdate(ids.fine));
    const finePutsBefore = projectPuts.get(ids.fine) ?? 0;
    await eventually(
      () => ((projectPuts.get(ids.fine) ?? 0) > finePutsBefore ? true : undefined),
      "the next hook applied",
    );
    const consumer = await eventually(async () => {
      const info = await bus.jsm.consumers.info(bus.topology.streamNames.gitlabInbox, INBOX_CONSUMER);
      return info.ack_floor.stream_seq >= marker ? info : undefined;
    }, "both deliveries acknowledged");
    expect(consumer.num_redelivered).toBe(0);
    expect(configPuts.get(ids.agent)).toBe(1);
    const letters = (await readDeadLetters(bus)).slice(lettersBefore);
    expect(letters.map((letter) => letter.header?.get(DEAD_LETTER_HEADERS.seq))).not.toContain(String(seq));
  });
});
