import { type AuthzCommandName, EVENT_TYPES, KasmapError, newKasmapEvent } from "@kasmap/contracts";
import { testWorldForFile } from "@kasmap/testing/world";
import { describe, expect, it } from "vitest";
import { type CommandHandlers, requestCommand, serveCommands } from "./commands.ts";
import { maxPayloadBytes } from "./payload-limit.ts";
import { publishEvent } from "./publish.ts";

/**
 * Issue 7.3 at the bus: nothing over the server's `max_payload` is ever sent, and trying gives
 * a clear `payload_too_large` (or an error reply) instead of retries, timeouts or a crash.
 */
const world = testWorldForFile({ name: "payload-limit-int-test", database: false });

const overLimit = () => "x".repeat(maxPayloadBytes(world.bus.nc) + 1);

describe("max_payload guards", () => {
  it("refuses an event over max_payload at once, without retrying", async () => {
    const user = { id: 7, username: "u", name: overLimit(), is_admin: false, state: "active" as const };
    const event = newKasmapEvent({
      type: EVENT_TYPES.userChanged,
      source: "/kasmap/test",
      subject: world.topology.subjects.registryChanged("user", 7),
      data: { user: { ...user, created_at: new Date().toISOString() }, actor_user_id: null },
    });
    // Thirty attempts with backoff would take minutes, past this test's timeout: no clock is
    // read, the timeout is the bound.
    const failure = await publishEvent(world.bus, event).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(KasmapError);
    expect(failure).toMatchObject({
      code: "payload_too_large",
      message: expect.stringMatching(/max_payload/),
    });
  });

  it("answers a command whose request is over max_payload with payload_too_large", async () => {
    const failure = await requestCommand(world.bus, "agent_config.put", {
      actor_user_id: 1,
      project_id: 1,
      agent_id: 1,
      yaml: overLimit(),
    }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: "payload_too_large", httpStatus: 413 });
  });

  it("replaces a reply over max_payload by an error reply, and keeps serving", async () => {
    const handlers = {
      "user.create": async () => ({
        result: { id: 1, username: "u", name: overLimit(), is_admin: false, state: "active" },
        positions: [],
      }),
      "group.transfer": async () => {
        throw new KasmapError("not_found", "Group");
      },
    } as unknown as CommandHandlers;
    const failures: Array<{ name: string; error: unknown }> = [];
    const subscription = serveCommands(world.bus, handlers, (name, error) => failures.push({ name, error }));
    try {
      const huge = await requestCommand(world.bus, "user.create", {
        actor_user_id: 1,
        username: "u",
        name: "u",
      }).catch((error: unknown) => error);
      expect(huge).toMatchObject({ code: "internal" });
      expect(failures.map((f) => f.name)).toEqual(["user.create" satisfies AuthzCommandName]);
      const next = await requestCommand(world.bus, "group.transfer", {
        actor_user_id: 1,
        group_id: 2,
        parent_id: null,
      }).catch((error: unknown) => error);
      expect(next).toMatchObject({ code: "not_found" });
    } finally {
      subscription.unsubscribe();
    }
  });
});
