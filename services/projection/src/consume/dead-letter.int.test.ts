import { DEAD_LETTER_HEADERS, publishEvent } from "@kasmap/bus";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ProjectionService, startProjectionService } from "../projection-service.ts";
import {
  createProjectionTestContext,
  type ProjectionTestContext,
} from "../testing/projection-test-context.ts";

let ctx: ProjectionTestContext;
let service: ProjectionService;

beforeAll(async () => {
  ctx = await createProjectionTestContext("projection-dead-letter-int-test");
  service = await startProjectionService(ctx.serviceOptions);
});

afterAll(async () => {
  await service?.stop();
  await ctx?.dispose();
});

async function deadLetters() {
  const info = await ctx.bus.jsm.streams.info(ctx.topology.streamNames.deadLetter);
  const letters = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const message = await ctx.bus.jsm.streams.getMessage(ctx.topology.streamNames.deadLetter, { seq });
    if (message) letters.push(message);
  }
  return letters;
}

describe("projection dead letters", () => {
  it("dead-letters a schema-invalid message and applies the next one", async () => {
    const bad = new TextEncoder().encode(
      JSON.stringify({ specversion: "1.0", type: "io.kasmap.registry.user.changed.v1" }),
    );
    await ctx.bus.js.publish(ctx.topology.subjects.registryChanged("user", 1), bad);
    await publishEvent(ctx.bus, ctx.events.user(2));
    await ctx.caughtUp();
    expect(await ctx.db.selectFrom("read_model.users").select("id").execute()).toEqual([{ id: 2 }]);
    const letters = await deadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]?.header.get(DEAD_LETTER_HEADERS.reason)).toMatch(/^schema:/);
    expect(letters[0]?.header.get(DEAD_LETTER_HEADERS.consumer)).toBe("projection-registry");
  });

  it("dead-letters an event the read model can never hold, and applies the next one", async () => {
    // Valid for the event schema (expires_at is any string) but never a date for the column.
    await publishEvent(ctx.bus, ctx.events.personalAccessToken(9, 2, "next tuesday"));
    await publishEvent(ctx.bus, ctx.events.personalAccessToken(10, 2));
    await ctx.caughtUp();
    expect(await ctx.db.selectFrom("read_model.personal_access_tokens").select("id").execute()).toEqual([
      { id: 10 },
    ]);
    const letters = await deadLetters();
    expect(letters).toHaveLength(2);
    expect(letters[1]?.header.get(DEAD_LETTER_HEADERS.reason)).toMatch(/expires_at is not a date/);
  });

  it("dead-letters an event that breaks a read model constraint (SQLSTATE 23505)", async () => {
    // Another group already holds full path `group-1` (case-insensitive unique index).
    await publishEvent(ctx.bus, ctx.events.group(1));
    const clash = ctx.events.group(3);
    clash.data.group.full_path = "GROUP-1";
    await publishEvent(ctx.bus, clash);
    await publishEvent(ctx.bus, ctx.events.group(4));
    await ctx.caughtUp();
    const ids = await ctx.db.selectFrom("read_model.groups").select("id").orderBy("id").execute();
    expect(ids).toEqual([{ id: 1 }, { id: 4 }]);
    const letters = await deadLetters();
    expect(letters.at(-1)?.header.get(DEAD_LETTER_HEADERS.reason)).toMatch(/SQLSTATE 23505/);
  });
});
