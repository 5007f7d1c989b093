import { DEAD_LETTER_HEADERS, publishEvent } from "@kasmap/bus";
import { DeadLetterRecordSchema, deadLetterStandsFor } from "@kasmap/contracts";
import { buildClusterFacts, replicaHeartbeat } from "@kasmap/testing";
import { eventually } from "@kasmap/testing/harness";
import { beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_COLLECTOR_LIMITS,
  DEFAULT_DEAD_LETTERS_PER_MINUTE,
  DEFAULT_HEARTBEATS_PER_MINUTE,
} from "../projection-env.ts";
import { projectionContextForFile } from "../testing/projection-context.ts";

/**
 * Issue 7.6: a collector is the least trusted writer. It chooses every byte of its events, so
 * the projection clamps its times to when the server stored them, limits how much and how often
 * it may write, and stops accepting it as soon as its agent is deleted or its token revoked.
 */
const ctx = projectionContextForFile("projection-collector-trust-int-test", { running: true });
const MINUTE_MS = 60_000;

beforeAll(async () => {
  const e = ctx.events;
  await publishEvent(ctx.bus, e.group(1));
  await publishEvent(ctx.bus, e.project(11, 1));
  for (const agent of [21, 22, 23, 24, 25, 26, 27, 28, 29, 30]) {
    await publishEvent(ctx.bus, e.agent(agent, 11));
    await publishEvent(ctx.bus, e.agentToken(agent * 10, agent));
  }
  await ctx.caughtUp();
});

async function lettersFor(subject: string) {
  return (await ctx.deadLetters()).filter((l) => l.header.get(DEAD_LETTER_HEADERS.subject) === subject);
}

async function lastHeartbeatAt(agentId: number): Promise<Date | undefined> {
  const row = await ctx.db
    .selectFrom("read_model.agent_connections")
    .select("last_heartbeat_at")
    .where("agent_id", "=", agentId)
    .executeTakeFirst();
  return row ? new Date(row.last_heartbeat_at) : undefined;
}

async function historyOf(agentId: number) {
  return ctx.db
    .selectFrom("read_model.cluster_snapshot_history")
    .select(["cluster", "observed_at"])
    .where("agent_id", "=", agentId)
    .orderBy("stream_seq")
    .execute();
}

describe("collector times", () => {
  it("clamps a heartbeat dated in the future to when the server stored it", async () => {
    const nextYear = new Date(Date.now() + 365 * 24 * 60 * MINUTE_MS).toISOString();
    await publishEvent(ctx.bus, ctx.events.heartbeat(21, nextYear));
    await ctx.caughtUp();
    const stored = await lastHeartbeatAt(21);
    expect(stored).toBeDefined();
    // Generous: the clamp gives "now"; the broken code stores next year.
    expect(stored?.getTime()).toBeLessThan(Date.now() + MINUTE_MS);

    // An honest heartbeat after it still moves the connection forward.
    await publishEvent(ctx.bus, ctx.events.heartbeat(21, new Date().toISOString()));
    await ctx.caughtUp();
    expect((await lastHeartbeatAt(21))?.getTime()).toBeGreaterThanOrEqual(stored?.getTime() ?? 0);
  });

  it("clamps a snapshot's observed_at in the future", async () => {
    const future = new Date(Date.now() + 30 * 24 * 60 * MINUTE_MS).toISOString();
    await publishEvent(ctx.bus, ctx.events.snapshot(22, buildClusterFacts({ observed_at: future })));
    await ctx.caughtUp();
    const [row] = await historyOf(22);
    expect(new Date(row?.observed_at ?? future).getTime()).toBeLessThan(Date.now() + MINUTE_MS);
  });
});

describe("collector limits", () => {
  it("sets a flood aside in summaries beyond the agent's dead-letter budget: each message in exactly one dead letter, other agents unaffected", async () => {
    const subject = ctx.topology.subjects.clusterSnapshot(29);
    const seqs: number[] = [];
    for (let i = 0; i < 250; i++) {
      seqs.push((await ctx.bus.js.publish(subject, new TextEncoder().encode("{"))).seq);
    }
    await publishEvent(
      ctx.bus,
      ctx.events.snapshot(30, buildClusterFacts({ cluster_name: "after the flood" })),
    );
    await ctx.caughtUp();
    // The summary is stored once the consumer has read nothing for a second (or its window ends).
    const letters = await eventually(async () => {
      const found = (await lettersFor(subject)).map((letter) => ({
        record: DeadLetterRecordSchema.parse(letter.json()),
        count: Number(letter.header.get(DEAD_LETTER_HEADERS.count)),
      }));
      return found.reduce((sum, letter) => sum + letter.count, 0) >= seqs.length ? found : undefined;
    }, "every message of the flood in a dead letter");
    // The budget's worth first, each with its own dead letter and reason: the rate limit's worth
    // of messages is parsed and refused as not JSON, the rest is over the limit (every message on
    // the agent's subject counts) and refused unparsed.
    const own = letters.filter(({ record }) => record.writer === undefined).map(({ record }) => record);
    expect(own.map((record) => record.seq)).toEqual(seqs.slice(0, DEFAULT_DEAD_LETTERS_PER_MINUTE));
    const limit = DEFAULT_COLLECTOR_LIMITS.snapshotsPerMinute;
    const overLimit = `agent 29 is over the rate limit of ${limit} snapshots per minute`;
    expect(own.slice(0, limit).every((record) => record.reason.startsWith("not JSON"))).toBe(true);
    expect(own.slice(limit).every((record) => record.reason === overLimit)).toBe(true);
    // The next opens the agent's summary window; the rest is summarized, as ranges.
    const [opening, ...summaries] = letters.filter(({ record }) => record.writer === "agent 29");
    expect(opening?.record.seq).toBe(seqs[DEFAULT_DEAD_LETTERS_PER_MINUTE]);
    expect(opening?.record.reason).toMatch(
      new RegExp(`^agent 29 is over its dead-letter budget: .*; this one: ${overLimit}$`),
    );
    expect(summaries.length).toBeGreaterThan(0);
    for (const { record, count } of summaries) {
      expect(count).toBe(1 + (record.more_count ?? 0));
      expect(record.reason).toMatch(
        new RegExp(
          `^${count} messages of agent 29 refused beyond its dead-letter budget .*; this one: ${overLimit}$`,
        ),
      );
    }
    const named = seqs.map(
      (seq) => letters.filter(({ record }) => deadLetterStandsFor(record, seq, "agent 29")).length,
    );
    expect(named).toEqual(seqs.map(() => 1));
    expect(await historyOf(30)).toHaveLength(1);
  });

  it("dead-letters the snapshots of an agent beyond the rate limit, not another agent's", async () => {
    for (let i = 0; i < 100; i++) {
      await publishEvent(ctx.bus, ctx.events.snapshot(23, buildClusterFacts({ node_count: i + 1 })));
    }
    await publishEvent(ctx.bus, ctx.events.snapshot(24, buildClusterFacts({ cluster_name: "calm" })));
    await ctx.caughtUp();
    const applied = await historyOf(23);
    expect(applied.length).toBeGreaterThan(0);
    expect(applied.length).toBeLessThan(100);
    const letters = await lettersFor(ctx.topology.subjects.clusterSnapshot(23));
    expect(letters).toHaveLength(100 - applied.length);
    expect(letters[0]?.header.get(DEAD_LETTER_HEADERS.reason)).toMatch(/rate limit/);
    expect(await historyOf(24)).toHaveLength(1);
  });

  it("dead-letters the heartbeats of an agent beyond the rate limit, not another agent's", async () => {
    const sent = DEFAULT_HEARTBEATS_PER_MINUTE + 50;
    // In the past, so that no time is clamped to when it was stored.
    const at = Date.now() - 10 * MINUTE_MS;
    // Each on a collector subject of its own (the 32-digit subjects of collectors from before
    // the 16, which permissions rendered before them allow): the heartbeat stream keeps only the
    // latest message per subject, so on one subject a heartbeat the consumer had not read yet
    // would be replaced.
    for (let i = 0; i < sent; i++) {
      await publishEvent(
        ctx.bus,
        replicaHeartbeat(ctx.topology, 27, `flood-${i}`, new Date(at + i).toISOString(), {
          distinctSubject: true,
        }),
      );
    }
    await publishEvent(ctx.bus, ctx.events.heartbeat(28, new Date(at).toISOString()));
    await ctx.caughtUp();
    // All were stored within a minute: the first N apply, the rest are dead-lettered.
    const heartbeatSubjects = `${ctx.topology.subjects.clusterHeartbeat(27)}.`;
    const letters = (await ctx.deadLetters()).filter((l) =>
      l.header.get(DEAD_LETTER_HEADERS.subject)?.startsWith(heartbeatSubjects),
    );
    expect(letters).toHaveLength(50);
    expect(letters[0]?.header.get(DEAD_LETTER_HEADERS.reason)).toBe(
      `agent 27 is over the rate limit of ${DEFAULT_HEARTBEATS_PER_MINUTE} heartbeats per minute`,
    );
    expect((await lastHeartbeatAt(27))?.getTime()).toBe(at + DEFAULT_HEARTBEATS_PER_MINUTE - 1);
    expect((await lastHeartbeatAt(28))?.getTime()).toBe(at);
    expect(await lettersFor(ctx.topology.subjects.clusterHeartbeat(28))).toHaveLength(0);
  });

  it("dead-letters a snapshot over the size limit", async () => {
    // ~800 KB of valid node addresses (10,000 of each type, the most a list may hold): under
    // NATS' 1 MiB max_payload, over the snapshot limit.
    const addresses = (prefix: string) =>
      Array.from(
        { length: 10_000 },
        (_, i) => `${prefix}:1111:2222:3333:4444:5555:${(i >> 8).toString(16)}:${(i & 255).toString(16)}`,
      );
    await publishEvent(
      ctx.bus,
      ctx.events.snapshot(
        25,
        buildClusterFacts({ node_ips: { internal: addresses("fd00"), external: addresses("2600") } }),
      ),
    );
    await ctx.caughtUp();
    expect(await historyOf(25)).toEqual([]);
    const letters = await lettersFor(ctx.topology.subjects.clusterSnapshot(25));
    expect(letters).toHaveLength(1);
    expect(letters[0]?.header.get(DEAD_LETTER_HEADERS.reason)).toMatch(/size limit/);
  });
});

describe("revoked collectors", () => {
  it("stops accepting an agent's events once its only token is revoked", async () => {
    await publishEvent(ctx.bus, ctx.events.heartbeat(26, new Date().toISOString()));
    await ctx.caughtUp();
    const before = await lastHeartbeatAt(26);
    expect(before).toBeDefined();

    const revoked = ctx.events.agentToken(260, 26);
    revoked.data.token.status = "revoked";
    await publishEvent(ctx.bus, revoked);
    await ctx.caughtUp();

    await publishEvent(ctx.bus, ctx.events.heartbeat(26, new Date(Date.now() + 1_000).toISOString()));
    await publishEvent(
      ctx.bus,
      ctx.events.snapshot(26, buildClusterFacts({ cluster_name: "after-revocation" })),
    );
    await ctx.caughtUp();
    expect(await lastHeartbeatAt(26)).toEqual(before);
    expect(await historyOf(26)).toEqual([]);
    const reasons = [
      ...(await lettersFor(ctx.topology.subjects.clusterHeartbeat(26))),
      ...(await lettersFor(ctx.topology.subjects.clusterSnapshot(26))),
    ].map((l) => l.header.get(DEAD_LETTER_HEADERS.reason));
    expect(reasons).toEqual([expect.stringMatching(/revoked/), expect.stringMatching(/revoked/)]);
  });

  it("stops accepting a deleted agent's events", async () => {
    await publishEvent(ctx.bus, ctx.events.agent(24, 11, new Date().toISOString()));
    await ctx.caughtUp();
    await publishEvent(
      ctx.bus,
      ctx.events.snapshot(24, buildClusterFacts({ cluster_name: "after-deletion" })),
    );
    await ctx.caughtUp();
    const history = await historyOf(24);
    expect(history.map((h) => h.cluster)).not.toContainEqual(
      expect.objectContaining({ cluster_name: "after-deletion" }),
    );
    const letters = await lettersFor(ctx.topology.subjects.clusterSnapshot(24));
    expect(letters.map((l) => l.header.get(DEAD_LETTER_HEADERS.reason))).toEqual([
      expect.stringMatching(/deleted/),
    ]);
  });
});
