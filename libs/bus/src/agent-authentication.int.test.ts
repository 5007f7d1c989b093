import { type CommandReply, KasmapError } from "@kasmap/contracts";
import { testWorldForFile } from "@kasmap/testing/world";
import { nkeys } from "@nats-io/nats-core";
import { afterEach, describe, expect, it } from "vitest";
import type { Bus } from "./bus.ts";
import { requestAgentAuthentication } from "./commands.ts";

/**
 * `requestAgentAuthentication` names the collector's nkey as the sender, and still works with an
 * authz from before sender subjects (which answers `unknown command` to them). authz here is a
 * stand-in on the real NATS server that records the subjects it was asked on.
 */
const world = testWorldForFile({ name: "agent-authentication-int-test", database: false });
const encoder = new TextEncoder();
const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

const authenticated: CommandReply = {
  ok: true,
  result: { agent_id: 7, token_id: 3, project_id: 2, token_kind: "agent" },
  positions: [],
};

/** An authz that knows sender subjects (`knowsSenders`) or not; lists the subjects it was asked on. */
function standInAuthz(bus: Bus, knowsSenders: boolean) {
  const asked: string[] = [];
  const prefix = bus.topology.subjects.authzCommand("");
  const subscription = bus.nc.subscribe(bus.topology.wildcards.authzCommands, {
    callback: (_error, message) => {
      asked.push(message.subject);
      const name = message.subject.slice(prefix.length);
      const reply: CommandReply =
        knowsSenders || name === "agent_token.authenticate"
          ? authenticated
          : { ok: false, error: { code: "bad_request", message: `unknown command ${name}` } };
      message.respond(encoder.encode(JSON.stringify(reply)));
    },
  });
  stops.push(() => subscription.unsubscribe());
  return asked;
}

const withKey = (bus: Bus, key: string): Bus => ({ ...bus, nkeyPublicKey: key });

describe("requestAgentAuthentication", () => {
  it("names the bus's nkey as the sender", async () => {
    const asked = standInAuthz(world.bus, true);
    const key = nkeys.createUser().getPublicKey();
    const { result } = await requestAgentAuthentication(withKey(world.bus, key), { token: "glagent-x" });
    expect(result.agent_id).toBe(7);
    expect(asked).toEqual([
      world.bus.topology.subjects.authzCommandFromSender("agent_token.authenticate", key),
    ]);
  });

  it("names no sender without an nkey", async () => {
    const asked = standInAuthz(world.bus, true);
    await requestAgentAuthentication(world.bus, { token: "glagent-x" });
    expect(asked).toEqual([world.bus.topology.subjects.authzCommand("agent_token.authenticate")]);
  });

  it("against an authz from before sender subjects, asks without a sender, from then on at once", async () => {
    const asked = standInAuthz(world.bus, false);
    const bus = withKey(world.bus, nkeys.createUser().getPublicKey());
    expect((await requestAgentAuthentication(bus, { token: "glagent-x" })).result.agent_id).toBe(7);
    expect((await requestAgentAuthentication(bus, { token: "glagent-x" })).result.agent_id).toBe(7);
    const plain = world.bus.topology.subjects.authzCommand("agent_token.authenticate");
    expect(asked).toHaveLength(3);
    expect(asked.slice(1)).toEqual([plain, plain]);
  });

  it("passes authz's refusal of the token on, without asking again", async () => {
    const asked: string[] = [];
    const subscription = world.bus.nc.subscribe(world.bus.topology.wildcards.authzCommands, {
      callback: (_error, message) => {
        asked.push(message.subject);
        const refusal: CommandReply = {
          ok: false,
          error: { code: "unauthorized", message: "401 Unauthorized" },
        };
        message.respond(encoder.encode(JSON.stringify(refusal)));
      },
    });
    stops.push(() => subscription.unsubscribe());
    const bus = withKey(world.bus, nkeys.createUser().getPublicKey());
    const refusal = await requestAgentAuthentication(bus, { token: "glagent-x" }).catch(
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(KasmapError);
    expect((refusal as KasmapError).code).toBe("unauthorized");
    expect(asked).toHaveLength(1);
  });
});
