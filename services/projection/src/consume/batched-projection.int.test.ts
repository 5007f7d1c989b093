import { DEAD_LETTER_HEADERS, publishEvent } from "@kasmap/bus";
import { isKasmapError } from "@kasmap/contracts";
import { afterAll, describe, expect, it } from "vitest";
import { type ProjectionService, startProjectionService } from "../projection-service.ts";
import { projectionContextForFile } from "../testing/projection-context.ts";
import { projectBatch } from "./projection-consumer.ts";
import { readPositions } from "./projection-positions.ts";

const ctx = projectionContextForFile("projection-batched-int-test");
let service: ProjectionService | undefined;
const CONSUMER = "projection-registry";

afterAll(async () => {
  await service?.stop();
});

async function groupIds(): Promise<number[]> {
  const rows = await ctx.db.selectFrom("read_model.groups").select("id").orderBy("id").execute();
  return rows.map((r) => r.id);
}

async function registryPosition(): Promise<number> {
  return Number((await readPositions(ctx.db)).get(CONSUMER)?.seq ?? 0);
}

describe("batched projection", () => {
  it("applies a backlog with invalid messages in the middle: dead-letters those, applies the rest in order", async () => {
    const e = ctx.events;
    await publishEvent(ctx.bus, e.group(1));
    await ctx.bus.js.publish(ctx.topology.subjects.registryChanged("user", 1), new TextEncoder().encode("{"));
    await publishEvent(ctx.bus, e.personalAccessToken(9, 2, "next tuesday")); // the database refuses it
    const renamed = e.group(1);
    renamed.data.group.name = "renamed";
    await publishEvent(ctx.bus, renamed);
    const last = await publishEvent(ctx.bus, e.group(2));
    // Published before the projection starts, so they arrive together as a backlog.
    service = await startProjectionService(ctx.serviceOptions);
    await ctx.caughtUp();
    expect(await groupIds()).toEqual([1, 2]);
    const group1 = await ctx.db.selectFrom("read_model.groups").select("name").where("id", "=", 1).execute();
    expect(group1).toEqual([{ name: "renamed" }]);
    expect(await ctx.db.selectFrom("read_model.personal_access_tokens").select("id").execute()).toEqual([]);
    expect(await registryPosition()).toBe(last.seq);
    const dlq = ctx.topology.streamNames.deadLetter;
    const letters = await Promise.all([1, 2].map((seq) => ctx.bus.jsm.streams.getMessage(dlq, { seq })));
    expect(letters.map((l) => l?.header.get(DEAD_LETTER_HEADERS.reason))).toEqual([
      expect.stringMatching(/^not JSON/),
      expect.stringMatching(/expires_at is not a date/),
    ]);
    expect((await ctx.bus.jsm.streams.info(dlq)).state.messages).toBe(2);
    await service.stop();
    service = undefined;
  });

  it("commits nothing of a batch that fails, neither rows nor position", async () => {
    const stream = ctx.topology.streamNames.registry;
    const before = await registryPosition();
    const group = ctx.events.group(5);
    const token = ctx.events.personalAccessToken(10, 2, "next tuesday");
    const batch = [
      {
        event: group,
        meta: {
          stream,
          seq: before + 1,
          subject: group.subject,
          deliveryCount: 1,
          storedAt: new Date(),
          bytes: 0,
        },
      },
      {
        event: token,
        meta: {
          stream,
          seq: before + 2,
          subject: token.subject,
          deliveryCount: 1,
          storedAt: new Date(),
          bytes: 0,
        },
      },
    ];
    const failure = await projectBatch(ctx.db, ctx.topology, CONSUMER, stream, batch, before + 2).catch(
      (e: unknown) => e,
    );
    expect(isKasmapError(failure, "poison_event")).toBe(true);
    expect(await groupIds()).toEqual([1, 2]);
    expect(await registryPosition()).toBe(before);
  });

  it("skips events at or below the stored position (a replay changes nothing)", async () => {
    const stream = ctx.topology.streamNames.registry;
    const position = await registryPosition();
    await ctx.db
      .updateTable("read_model.groups")
      .set({ description: "marker" })
      .where("id", "=", 1)
      .execute();
    const group = ctx.events.group(1);
    const replayed = [
      {
        event: group,
        meta: {
          stream,
          seq: position,
          subject: group.subject,
          deliveryCount: 1,
          storedAt: new Date(),
          bytes: 0,
        },
      },
    ];
    expect(await projectBatch(ctx.db, ctx.topology, CONSUMER, stream, replayed, position)).toEqual([]);
    const row = await ctx.db
      .selectFrom("read_model.groups")
      .select("description")
      .where("id", "=", 1)
      .execute();
    expect(row).toEqual([{ description: "marker" }]);
    expect(await registryPosition()).toBe(position);
  });
});
