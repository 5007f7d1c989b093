import { DEAD_LETTER_HEADERS, publishEvent } from "@kasmap/bus";
import { describe, expect, it } from "vitest";
import { projectionContextForFile } from "../testing/projection-context.ts";

const ctx = projectionContextForFile("projection-dead-letter-int-test", { running: true });

describe("projection dead letters", () => {
  it("dead-letters a schema-invalid message and applies the next one", async () => {
    const bad = new TextEncoder().encode(
      JSON.stringify({ specversion: "1.0", type: "io.kasmap.registry.user.changed.v1" }),
    );
    await ctx.bus.js.publish(ctx.topology.subjects.registryChanged("user", 1), bad);
    await publishEvent(ctx.bus, ctx.events.user(2));
    await ctx.caughtUp();
    expect(await ctx.db.selectFrom("read_model.users").select("id").execute()).toEqual([{ id: 2 }]);
    const letters = await ctx.deadLetters();
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
    const letters = await ctx.deadLetters();
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
    const letters = await ctx.deadLetters();
    expect(letters.at(-1)?.header.get(DEAD_LETTER_HEADERS.reason)).toMatch(/SQLSTATE 23505/);
  });
});
