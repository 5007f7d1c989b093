import { DEAD_LETTER_HEADERS, publishEvent } from "@kasmap/bus";
import { buildClusterFacts } from "@kasmap/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { projectionContextForFile } from "../testing/projection-context.ts";

/**
 * Issue 7.1: a collector may publish on its own agent's snapshot and heartbeat subjects, and
 * it writes the body. A registry event on those subjects, whose id happens to equal the agent
 * id, must never reach the registry tables (a forged personal access token would be a working
 * admin credential).
 */
const ctx = projectionContextForFile("projection-event-type-confusion-int-test", { running: true });
const AGENT = 7;

beforeAll(async () => {
  const e = ctx.events;
  for (const event of [
    e.group(1),
    e.project(11, 1),
    e.user(1),
    e.agent(AGENT, 11),
    e.agentToken(70, AGENT),
  ]) {
    await publishEvent(ctx.bus, event);
  }
  await ctx.caughtUp();
});

/** A valid `personal_access_token.changed` event for user 1 (an admin in the attacker's dreams). */
function forgedToken(natsSubject: string) {
  const forged = ctx.events.personalAccessToken(AGENT, 1, null);
  return { ...forged, subject: natsSubject };
}

describe("event-type confusion", () => {
  it("dead-letters a personal access token event published on an agent's snapshot subject", async () => {
    const subject = ctx.topology.subjects.clusterSnapshot(AGENT);
    await ctx.bus.js.publish(subject, new TextEncoder().encode(JSON.stringify(forgedToken(subject))));
    // The control event behind it proves the cluster consumer ran past the forgery.
    await publishEvent(ctx.bus, ctx.events.snapshot(AGENT, buildClusterFacts({ cluster_name: "control" })));
    await ctx.caughtUp();

    const tokens = await ctx.db.selectFrom("read_model.personal_access_tokens").select("id").execute();
    expect(tokens).toEqual([]);
    expect(await ctx.latestCluster(AGENT)).toMatchObject({ cluster_name: "control" });
    const letters = await ctx.deadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]?.header.get(DEAD_LETTER_HEADERS.subject)).toBe(subject);
    expect(letters[0]?.header.get(DEAD_LETTER_HEADERS.reason)).toMatch(
      /io\.kasmap\.registry\.personal_access_token\.changed\.v1/,
    );
  });
});
