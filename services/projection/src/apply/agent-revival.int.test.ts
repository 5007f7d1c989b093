import { publishEvent } from "@kasmap/bus";
import {
  type AgentGrantSet,
  EMPTY_GRANT_SET,
  EVENT_TYPES,
  type EventDataOf,
  type KasmapEvent,
  newKasmapEvent,
} from "@kasmap/contracts";
import { buildClusterFacts } from "@kasmap/testing";
import { type KyselyPlugin, PostgresQueryCompiler } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rebuildReadModel } from "../rebuild/rebuild-read-model.ts";
import { projectionContextForFile } from "../testing/projection-context.ts";
import { applyRegistryEvent, type RegistryEvent } from "./apply-registry-event.ts";

/**
 * An agent deleted and brought back (GitLab mode: its project left the mirrored root group and
 * returned), with the registry and authz streams applied in either order: the projection
 * consumes them independently, so each test publishes one stream's part and waits until it is
 * applied before publishing the other's.
 */
const ctx = projectionContextForFile("projection-agent-revival-int-test", { running: true });

const BEFORE: AgentGrantSet = {
  ci_access: { projects: [{ project_id: 11, config: { default_namespace: "before" } }], groups: [] },
  user_access: { projects: [], groups: [] },
};
/** A grant set published after the first revival and before the second deletion. */
const BETWEEN: AgentGrantSet = {
  ci_access: { projects: [{ project_id: 11, config: { default_namespace: "between" } }], groups: [] },
  user_access: { projects: [], groups: [] },
};
const AFTER: AgentGrantSet = {
  ci_access: {
    projects: [{ project_id: 11, config: { default_namespace: "after" } }],
    groups: [{ group_id: 1, config: {} }],
  },
  user_access: { projects: [], groups: [] },
};

beforeAll(async () => {
  await publishAll([ctx.events.group(1), ctx.events.project(11, 1)]);
});

afterAll(async () => {
  await ctx.stopService();
});

async function publishAll(events: readonly KasmapEvent[]): Promise<void> {
  for (const event of events) await publishEvent(ctx.bus, event);
  await ctx.caughtUp();
}

type Cause = EventDataOf<typeof EVENT_TYPES.authzChanged>["cause"];

/**
 * The agent's grant set as authz publishes it, with `cause` and (when given) the event's `time`
 * and the number of the deletion it announces (`deletion`).
 */
function grantSet(
  agentId: number,
  grants: AgentGrantSet,
  cause: Cause,
  time?: string,
  deletion?: number,
): KasmapEvent {
  const event = ctx.events.authz(agentId, 11, grants);
  return newKasmapEvent({
    type: EVENT_TYPES.authzChanged,
    source: event.source,
    subject: event.subject,
    data: { ...event.data, cause, ...(deletion === undefined ? {} : { deletion }) },
    ...(time === undefined ? {} : { time: new Date(time) }),
  });
}

/** The agent deleted at `deletedAt`, as its registry record, with the deletion's number when given. */
function deletedAgent(agentId: number, deletedAt: string, deletion?: number): KasmapEvent {
  const event = ctx.events.agent(agentId, 11, deletedAt);
  if (deletion === undefined) return event;
  return newKasmapEvent({
    type: EVENT_TYPES.agentChanged,
    source: event.source,
    subject: event.subject,
    data: { ...event.data, agent: { ...event.data.agent, deletion } },
  });
}

/**
 * One deletion and revival of the agent, per stream, as authz publishes them: the deletion's
 * `agent_deleted` empty grant set carries the agent's `deleted_at` (and, from an authz that
 * numbers deletions, the deletion's number as the agent's record does); the revival comes with
 * `agent_created` (empty), then the config's grant set.
 */
function episode(agentId: number, deletedAt: string, deletion?: number) {
  return {
    registryDeletion: [deletedAgent(agentId, deletedAt, deletion)],
    registryRevival: [ctx.events.agent(agentId, 11)],
    authzDeletion: [grantSet(agentId, EMPTY_GRANT_SET, "agent_deleted", deletedAt, deletion)],
    authzRevival: [
      grantSet(agentId, EMPTY_GRANT_SET, "agent_created"),
      grantSet(agentId, AFTER, "config_changed"),
    ],
  };
}

async function liveAgentWithGrants(agentId: number): Promise<void> {
  await publishAll([ctx.events.agent(agentId, 11), ctx.events.agentToken(agentId * 10, agentId)]);
  await publishAll([grantSet(agentId, BEFORE, "config_changed")]);
}

/** The agent's `ci_access` project grants' `default_namespace`, and its group grants. */
async function grantsOf(agentId: number): Promise<{ projects: unknown[]; groups: number[] }> {
  const projects = await ctx.db
    .selectFrom("read_model.ci_access_project_authorizations")
    .select("config")
    .where("agent_id", "=", agentId)
    .execute();
  const groups = await ctx.db
    .selectFrom("read_model.ci_access_group_authorizations")
    .select("group_id")
    .where("agent_id", "=", agentId)
    .execute();
  return {
    projects: projects.map((row) => (row.config as { default_namespace?: string }).default_namespace),
    groups: groups.map((row) => Number(row.group_id)),
  };
}

const NO_GRANTS = { projects: [], groups: [] };
const NEW_GRANTS = { projects: ["after"], groups: [1] };
const BETWEEN_GRANTS = { projects: ["between"], groups: [] };

/**
 * The agent deleted, brought back and given the grant set `BETWEEN`, on both streams; then the
 * second deletion, stamped an hour EARLIER than the first: another authz replica handled it, on
 * a host whose clock is behind. Both deletions are numbered (an authz that counts them).
 */
async function deletedTwiceByClocksApart(agentId: number) {
  await liveAgentWithGrants(agentId);
  const first = episode(agentId, "2026-05-01T10:00:00.000Z", 1);
  await publishAll([...first.registryDeletion, ...first.authzDeletion]);
  await publishAll([...first.registryRevival, ...first.authzRevival]);
  await publishAll([grantSet(agentId, BETWEEN, "config_changed")]);
  expect(await grantsOf(agentId)).toEqual(BETWEEN_GRANTS);
  return episode(agentId, "2026-05-01T09:00:00.000Z", 2);
}

/** Records the SQL of every statement run through the handle it is plugged into. */
function statementRecorder(): { plugin: KyselyPlugin; statements: string[] } {
  const compiler = new PostgresQueryCompiler();
  const statements: string[] = [];
  return {
    statements,
    plugin: {
      transformQuery(args) {
        statements.push(compiler.compileQuery(args.node, args.queryId).sql);
        return args.node;
      },
      async transformResult(args) {
        return args.result;
      },
    },
  };
}

describe("an agent deleted and brought back", () => {
  it("gets the grant set published after its revival when the registry stream is applied first", async () => {
    await liveAgentWithGrants(31);
    const e = episode(31, "2026-04-01T10:00:00.000Z");
    await publishAll([...e.registryDeletion, ...e.registryRevival]);
    expect(await grantsOf(31)).toEqual(NO_GRANTS);
    await publishAll([...e.authzDeletion, ...e.authzRevival]);
    expect(await grantsOf(31)).toEqual(NEW_GRANTS);
  });

  it("gets the grant set published after its revival when the authz stream is applied first", async () => {
    await liveAgentWithGrants(32);
    const e = episode(32, "2026-04-01T10:00:00.000Z");
    await publishAll([...e.authzDeletion, ...e.authzRevival]);
    // The registry has not told of the deletion yet: the new grants wait for the revival.
    expect(await grantsOf(32)).toEqual(NO_GRANTS);
    await publishAll(e.registryDeletion);
    expect(await grantsOf(32)).toEqual(NO_GRANTS);
    await publishAll(e.registryRevival);
    expect(await grantsOf(32)).toEqual(NEW_GRANTS);
  });

  it("discards a grant set published before the deletion and applied after it, even after the revival", async () => {
    await liveAgentWithGrants(33);
    const e = episode(33, "2026-04-01T10:00:00.000Z");
    await publishAll(e.registryDeletion);
    // Published (authz stream) before the deletion, applied after it.
    await publishAll([grantSet(33, AFTER, "config_changed")]);
    expect(await grantsOf(33)).toEqual(NO_GRANTS);
    await publishAll(e.registryRevival);
    await publishAll([grantSet(33, AFTER, "registry_changed")]);
    expect(await grantsOf(33)).toEqual(NO_GRANTS);
    await publishAll([...e.authzDeletion, ...e.authzRevival]);
    expect(await grantsOf(33)).toEqual(NEW_GRANTS);
  });

  it("takes the collector's events again once the agent is back", async () => {
    await liveAgentWithGrants(34);
    const e = episode(34, new Date(Date.now() - 60_000).toISOString());
    await publishAll([...e.registryDeletion, ...e.authzDeletion]);
    await publishAll([...e.registryRevival, ...e.authzRevival]);
    await publishAll([ctx.events.snapshot(34, buildClusterFacts())]);
    expect(await ctx.latestCluster(34)).toBeDefined();
    expect(await ctx.deadLetters()).toEqual([]);
  });

  it("is found again by the addresses of its latest snapshot once it is back", async () => {
    await liveAgentWithGrants(36);
    await publishAll([ctx.events.snapshot(36, buildClusterFacts())]);
    const addresses = () =>
      ctx.db
        .selectFrom("read_model.cluster_addresses")
        .select(({ fn }) => fn.countAll<string>().as("n"))
        .where("agent_id", "=", 36)
        .executeTakeFirstOrThrow();
    const indexed = Number((await addresses()).n);
    expect(indexed).toBeGreaterThan(0);
    const e = episode(36, new Date(Date.now() - 60_000).toISOString());
    await publishAll([...e.registryDeletion, ...e.authzDeletion]);
    expect(Number((await addresses()).n)).toBe(0);
    await publishAll([...e.registryRevival, ...e.authzRevival]);
    expect(Number((await addresses()).n)).toBe(indexed);
  });

  it("takes a report stored after the revival while the registry consumer is still behind it", async () => {
    await liveAgentWithGrants(37);
    const e = episode(37, new Date(Date.now() - 60_000).toISOString());
    await publishAll([...e.registryDeletion, ...e.authzDeletion]);
    await ctx.stopService();
    // A backlog ahead of the revival keeps the registry consumer behind the cluster consumer.
    const backlog = Array.from({ length: 3_000 }, (_, i) => ctx.events.group(10_000 + i));
    for (let i = 0; i < backlog.length; i += 200) {
      await Promise.all(backlog.slice(i, i + 200).map((event) => publishEvent(ctx.bus, event)));
    }
    for (const event of [...e.registryRevival, ...e.authzRevival]) await publishEvent(ctx.bus, event);
    const facts = buildClusterFacts({ cluster_name: "after-the-return" });
    await publishEvent(ctx.bus, ctx.events.snapshot(37, facts));
    await ctx.startService();
    await ctx.caughtUp();
    expect(await ctx.latestCluster(37)).toMatchObject({ cluster_name: "after-the-return" });
    expect(await ctx.deadLetters()).toEqual([]);
  });

  it("pairs each deletion with its own agent_deleted grant set by number, not by skewed clocks (registry stream first)", async () => {
    const second = await deletedTwiceByClocksApart(38);
    await publishAll([...second.registryDeletion, ...second.registryRevival]);
    // BETWEEN was published before the second deletion: it must not come back with the revival.
    expect(await grantsOf(38)).toEqual(NO_GRANTS);
    await publishAll([...second.authzDeletion, ...second.authzRevival]);
    expect(await grantsOf(38)).toEqual(NEW_GRANTS);
  });

  it("pairs each deletion with its own agent_deleted grant set by number, not by skewed clocks (authz stream first)", async () => {
    const second = await deletedTwiceByClocksApart(39);
    await publishAll(second.authzDeletion);
    expect(await grantsOf(39)).toEqual(NO_GRANTS);
    // The registry has not told of the second deletion yet: the new grants wait for its revival.
    await publishAll(second.authzRevival);
    expect(await grantsOf(39)).toEqual(NO_GRANTS);
    await publishAll(second.registryDeletion);
    expect(await grantsOf(39)).toEqual(NO_GRANTS);
    await publishAll(second.registryRevival);
    expect(await grantsOf(39)).toEqual(NEW_GRANTS);
  });

  it("discards the first deletion's grant sets when the registry stream is a whole deletion ahead, despite skewed clocks", async () => {
    await liveAgentWithGrants(40);
    const first = episode(40, "2026-05-01T10:00:00.000Z", 1);
    const second = episode(40, "2026-05-01T09:00:00.000Z", 2);
    await publishAll([...first.registryDeletion, ...first.registryRevival]);
    await publishAll([...second.registryDeletion, ...second.registryRevival]);
    // The first deletion's agent_deleted grant set is not the second's: what follows it was
    // published before the second deletion.
    await publishAll([
      ...first.authzDeletion,
      ...first.authzRevival,
      grantSet(40, BETWEEN, "config_changed"),
    ]);
    expect(await grantsOf(40)).toEqual(NO_GRANTS);
    await publishAll([...second.authzDeletion, ...second.authzRevival]);
    expect(await grantsOf(40)).toEqual(NEW_GRANTS);
  });

  it("pairs by time a deletion from an authz that predates the numbers, then by number the next", async () => {
    await liveAgentWithGrants(41);
    const first = episode(41, "2026-05-01T10:00:00.000Z");
    await publishAll([...first.authzDeletion, ...first.registryDeletion]);
    await publishAll([
      ...first.registryRevival,
      ...first.authzRevival,
      grantSet(41, BETWEEN, "config_changed"),
    ]);
    const second = episode(41, "2026-05-01T11:00:00.000Z", 1);
    await publishAll([...second.registryDeletion, ...second.registryRevival]);
    expect(await grantsOf(41)).toEqual(NO_GRANTS);
    await publishAll([...second.authzDeletion, ...second.authzRevival]);
    expect(await grantsOf(41)).toEqual(NEW_GRANTS);
  });

  it("leaves the tombstone alone for the events of a live agent, and reads it for the agent's return", async () => {
    await liveAgentWithGrants(42);
    const e = episode(42, "2026-05-01T10:00:00.000Z", 1);
    const recorder = statementRecorder();
    const tombstoneStatements = () => recorder.statements.filter((text) => text.includes("deleted_agents"));
    let ofLiveAgent: string[] = [];
    let ofReturn: string[] = [];
    // Applied by hand in a transaction rolled back: the streams (and a rebuild) know nothing of it.
    const rollback = new Error("rolled back");
    await ctx.db
      .transaction()
      .execute(async (trx) => {
        const db = trx.withPlugin(recorder.plugin);
        await applyRegistryEvent(db, ctx.events.agent(42, 11), new Date());
        ofLiveAgent = tombstoneStatements();
        await applyRegistryEvent(db, e.registryDeletion[0] as RegistryEvent, new Date());
        recorder.statements.length = 0;
        await applyRegistryEvent(db, ctx.events.agent(42, 11), new Date());
        ofReturn = tombstoneStatements();
        throw rollback;
      })
      .catch((error: unknown) => {
        if (error !== rollback) throw error;
      });
    expect(ofLiveAgent).toEqual([]);
    expect(ofReturn).toContainEqual(
      expect.stringMatching(/^update "read_model"\."deleted_agents" set "revived_at"/),
    );
  });

  it("rebuilds the same grants from the streams, twice deleted and back", async () => {
    await liveAgentWithGrants(35);
    const first = episode(35, "2026-04-01T10:00:00.000Z");
    await publishAll([...first.registryDeletion, ...first.authzDeletion]);
    await publishAll([...first.registryRevival, ...first.authzRevival]);
    const second = episode(35, "2026-04-02T10:00:00.000Z");
    await publishAll([...second.authzDeletion, ...second.authzRevival]);
    await publishAll([...second.registryDeletion, ...second.registryRevival]);
    expect(await grantsOf(35)).toEqual(NEW_GRANTS);
    // The first deletion is kept as past: its collector events stay refused after the second.
    const tombstone = await ctx.db
      .selectFrom("read_model.deleted_agents")
      .select(["past_deletions", "deleted_at"])
      .where("agent_id", "=", 35)
      .executeTakeFirstOrThrow();
    expect(tombstone.past_deletions).toEqual([
      { from: expect.stringMatching(/^2026-04-01T10:00:00/), until: expect.any(String) },
    ]);
    expect(tombstone.deleted_at).toEqual(new Date("2026-04-02T10:00:00.000Z"));

    const agents = [31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41];
    const before = await Promise.all(agents.map(grantsOf));
    await ctx.stopService();
    const rebuilt = await rebuildReadModel(ctx.serviceOptions);
    try {
      await ctx.caughtUp();
      expect(await Promise.all(agents.map(grantsOf))).toEqual(before);
    } finally {
      await rebuilt.stop();
    }
  });
});
