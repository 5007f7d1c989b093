import { DEAD_LETTER_HEADERS, publishEvent } from "@kasmap/bus";
import { buildClusterFacts } from "@kasmap/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_COLLECTOR_LIMITS } from "../projection-env.ts";
import { type ProjectionService, startProjectionService } from "../projection-service.ts";
import { projectionContextForFile } from "../testing/projection-context.ts";

/**
 * A collector event of an agent the read model does not know yet (or without a token yet) waits
 * for the registry, but only for the agent's grace, counted from its first wait: a collector
 * holding the credentials of a tokenless agent that publishes every second must not hold back
 * every other agent's heartbeats and snapshots for as long as it publishes.
 */
const ctx = projectionContextForFile("projection-unknown-agent-grace-int-test");
const GRACE_MS = 3_000;
const VICTIM = 21;
const TOKENLESS = 22;
const TOKEN_LATE = 23;
let service: ProjectionService;

beforeAll(async () => {
  const e = ctx.events;
  await publishEvent(ctx.bus, e.group(1));
  await publishEvent(ctx.bus, e.project(11, 1));
  for (const agent of [VICTIM, TOKENLESS, TOKEN_LATE]) await publishEvent(ctx.bus, e.agent(agent, 11));
  await publishEvent(ctx.bus, e.agentToken(VICTIM * 10, VICTIM));
  service = await startProjectionService({
    ...ctx.serviceOptions,
    collectorLimits: { ...DEFAULT_COLLECTOR_LIMITS, unknownAgentGraceMs: GRACE_MS },
  });
  await ctx.caughtUp();
});

afterAll(async () => {
  await service?.stop();
});

async function lastHeartbeatAt(agentId: number): Promise<number | undefined> {
  const row = await ctx.db
    .selectFrom("read_model.agent_connections")
    .select("last_heartbeat_at")
    .where("agent_id", "=", agentId)
    .executeTakeFirst();
  return row ? new Date(row.last_heartbeat_at).getTime() : undefined;
}

async function clusterNameOf(agentId: number): Promise<string | undefined> {
  return ((await ctx.latestCluster(agentId)) as { cluster_name?: string } | undefined)?.cluster_name;
}

async function lettersFor(subject: string) {
  return (await ctx.deadLetters()).filter((l) => l.header.get(DEAD_LETTER_HEADERS.subject) === subject);
}

/** Milliseconds until `check` holds, polling every 100 ms; null after `timeoutMs`. */
async function millisUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<number | null> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await check()) return Date.now() - start;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return null;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("agents without a token in the read model", () => {
  it("hold the other agents back at most once for their grace, and are dead-lettered after it however young their events", async () => {
    let flooding = true;
    let snapshotsSent = 0;
    const firstSentAt = Date.now();
    // One heartbeat and one snapshot a second: far under the rate limits.
    const flood = (async () => {
      while (flooding) {
        await publishEvent(ctx.bus, ctx.events.heartbeat(TOKENLESS, new Date().toISOString()));
        await publishEvent(ctx.bus, ctx.events.snapshot(TOKENLESS, buildClusterFacts()));
        snapshotsSent++;
        await pause(1_000);
      }
    })();
    const delays: (number | null)[] = [];
    try {
      for (let round = 0; round < 4; round++) {
        await pause(round === 0 ? 500 : 1_500);
        const sentAt = Date.now();
        const name = `victim-${round}`;
        await publishEvent(ctx.bus, ctx.events.heartbeat(VICTIM, new Date(sentAt).toISOString()));
        await publishEvent(ctx.bus, ctx.events.snapshot(VICTIM, buildClusterFacts({ cluster_name: name })));
        // The first round lands inside the tokenless agent's grace: held for the rest of it, plus
        // the consumer's backoff. Every later one must pass at once.
        const bound = round === 0 ? GRACE_MS + 5_000 : 2_500;
        delays.push(
          await millisUntil(
            async () =>
              ((await lastHeartbeatAt(VICTIM)) ?? 0) >= sentAt - 1_000 &&
              (await clusterNameOf(VICTIM)) === name,
            bound,
          ),
        );
        expect(delays, `round ${round}: applied within ${bound} ms`).not.toContain(null);
      }
    } finally {
      flooding = false;
      await flood;
    }
    await ctx.caughtUp();

    expect(await lastHeartbeatAt(TOKENLESS)).toBeUndefined();
    expect(await ctx.latestCluster(TOKENLESS)).toBeUndefined();
    const snapshotLetters = await lettersFor(ctx.topology.subjects.clusterSnapshot(TOKENLESS));
    const heartbeatLetters = await lettersFor(ctx.topology.subjects.clusterHeartbeat(TOKENLESS));
    // Every snapshot is dead-lettered; the heartbeat stream keeps only an agent's latest.
    expect(snapshotLetters).toHaveLength(snapshotsSent);
    expect(heartbeatLetters.length).toBeGreaterThan(0);
    for (const letter of [...snapshotLetters, ...heartbeatLetters]) {
      expect(letter.header.get(DEAD_LETTER_HEADERS.reason)).toBe(
        `agent ${TOKENLESS} has no token in the read model (its grace is over and the registry consumer has caught up)`,
      );
      // Not before the grace (counted from the first wait, which follows the first publish).
      expect(letter.time.getTime()).toBeGreaterThanOrEqual(firstSentAt + GRACE_MS - 100);
    }
  });

  it("applies the waiting events of an agent whose token arrives within the grace", async () => {
    const sentAt = Date.now();
    await publishEvent(ctx.bus, ctx.events.heartbeat(TOKEN_LATE, new Date(sentAt).toISOString()));
    await publishEvent(ctx.bus, ctx.events.snapshot(TOKEN_LATE, buildClusterFacts({ cluster_name: "late" })));
    await pause(GRACE_MS / 3);
    await publishEvent(ctx.bus, ctx.events.agentToken(TOKEN_LATE * 10, TOKEN_LATE));
    await ctx.caughtUp();
    expect(await lastHeartbeatAt(TOKEN_LATE)).toBeGreaterThanOrEqual(sentAt - 1_000);
    expect(await clusterNameOf(TOKEN_LATE)).toBe("late");
    expect(await lettersFor(ctx.topology.subjects.clusterSnapshot(TOKEN_LATE))).toEqual([]);
    expect(await lettersFor(ctx.topology.subjects.clusterHeartbeat(TOKEN_LATE))).toEqual([]);
  });
});
