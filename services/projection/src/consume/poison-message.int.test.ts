import { createHash } from "node:crypto";
import { DEAD_LETTER_HEADERS, publishEvent } from "@kasmap/bus";
import { DeadLetterRecordSchema } from "@kasmap/contracts";
import { buildClusterFacts } from "@kasmap/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_COLLECTOR_LIMITS } from "../projection-env.ts";
import { projectionContextForFile } from "../testing/projection-context.ts";

/**
 * Issue 7.4: a message near NATS `max_payload` that fails validation must still be set aside.
 * A dead letter that copies the whole body (plus headers) no longer fits, and the consumer used
 * to restart on it forever: no cluster info moved for any agent again.
 */
const ctx = projectionContextForFile("projection-poison-message-int-test", { running: true });
const AGENT = 4;

beforeAll(async () => {
  const e = ctx.events;
  for (const event of [e.group(1), e.project(11, 1), e.agent(AGENT, 11), e.agentToken(40, AGENT)]) {
    await publishEvent(ctx.bus, event);
  }
  await ctx.caughtUp();
});

describe("poison messages", () => {
  it("dead-letters an invalid message of nearly max_payload bytes and applies the event behind it", async () => {
    const subject = ctx.topology.subjects.clusterSnapshot(AGENT);
    // Room for the subject and the publish's own framing; everything else is the body.
    const size = ctx.bus.nc.info?.max_payload ?? 1024 * 1024;
    const poison = new Uint8Array(size - 256).fill("x".charCodeAt(0));
    const stored = await ctx.bus.js.publish(subject, poison);
    await publishEvent(
      ctx.bus,
      ctx.events.snapshot(AGENT, buildClusterFacts({ cluster_name: "behind-the-poison" })),
    );

    await ctx.caughtUp();
    expect(await ctx.latestCluster(AGENT)).toMatchObject({ cluster_name: "behind-the-poison" });
    const letters = await ctx.deadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]?.header.get(DEAD_LETTER_HEADERS.seq)).toBe(String(stored.seq));
    // Refused for its size before it is parsed (a parse of ~1 MiB per message would be a flood's lever).
    expect(letters[0]?.header.get(DEAD_LETTER_HEADERS.reason)).toBe(
      `snapshot of ${poison.byteLength} bytes is over the size limit of ${DEFAULT_COLLECTOR_LIMITS.snapshotMaxBytes} bytes`,
    );
    // The record is bounded: the digest and size identify the body, only its head is kept.
    const record = DeadLetterRecordSchema.parse(letters[0]?.json());
    expect(record).toMatchObject({ size: poison.byteLength, truncated: true, subject });
    expect(record.sha256).toBe(createHash("sha256").update(poison).digest("hex"));
  });
});
