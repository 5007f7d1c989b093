import { createLogger } from "@kasmap/logging";
import { describe, expect, it } from "vitest";
import { createOutboxPublisher } from "./outbox.ts";
import { authzTestEnvironmentForFile } from "./testing/authz-test-environment.ts";

/**
 * Published rows of `authz.outbox` are deleted after the retention, and what reads the outbox
 * answers as before: `outbox.status` (the gateway's readiness check and the gauges), the positions
 * a command returns for read-your-writes, a restart's catch-up (which publishes nothing again).
 */
const env = authzTestEnvironmentForFile({ outboxRetentionSeconds: 600 });
const logger = createLogger("authz-outbox-pruning-test", "silent");

async function outboxRows() {
  return env.db.selectFrom("authz.outbox").select(["id", "published_at"]).orderBy("id").execute();
}

async function storedMessages(): Promise<number> {
  let messages = 0;
  for (const stream of [env.bus.topology.streamNames.registry, env.bus.topology.streamNames.authz])
    messages += (await env.bus.jsm.streams.info(stream)).state.messages;
  return messages;
}

describe("pruning authz.outbox", () => {
  it("deletes rows published before the retention; status, positions and a restart answer as before", async () => {
    await env.registerAgent();
    const published = await outboxRows();
    expect(published.length).toBeGreaterThan(0);
    expect(published.every((row) => row.published_at !== null)).toBe(true);
    const messages = await storedMessages();
    // Eleven minutes ago: past the 10-minute retention, but not the newest row.
    const newest = published.at(-1)?.id ?? 0;
    await env.db
      .updateTable("authz.outbox")
      .set({ published_at: new Date(Date.now() - 11 * 60 * 1_000) })
      .where("id", "<", newest)
      .execute();

    const pruned = await createOutboxPublisher(env.db, env.bus, logger, {
      retentionMs: 600_000,
    }).prunePublished();

    expect(pruned).toBe(published.length - 1);
    expect((await outboxRows()).map((row) => row.id)).toEqual([newest]);
    expect((await env.command("outbox.status", {})).result).toEqual({
      pending: 0,
      oldest_pending_age_seconds: null,
      set_aside: 0,
    });
    const group = await env.command("group.create", { actor_user_id: env.adminId, name: "H", path: "h" });
    const [position] = group.positions;
    const stored = await env.bus.jsm.streams.getMessage(position?.stream ?? "", { seq: position?.seq ?? 0 });
    expect(stored?.json()).toMatchObject({ data: { group: { id: group.result.id } } });
    expect(await storedMessages()).toBe(messages + group.positions.length);
    await env.restart();
    expect(await storedMessages()).toBe(messages + group.positions.length);
  });
});
